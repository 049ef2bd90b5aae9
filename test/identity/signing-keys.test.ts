import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SigningKeyRing, type SigningKeyStore, type StoredSigningKey } from '../../src/identity/signing-keys.ts';

const memoryStore = (): SigningKeyStore & { keys: Map<string, StoredSigningKey> } => {
  const keys = new Map<string, StoredSigningKey>();
  return { keys, load: () => [...keys.values()], save: (k) => { keys.set(k.kid, k); }, remove: (kid) => { keys.delete(kid); } };
};

test('a key past its rotation age is replaced, and the retired key stays published until its overlap ends', async () => {
  const store = memoryStore();
  const t0 = Date.UTC(2026, 0, 1);
  const ring = await SigningKeyRing.open(store, { rotateAfterSeconds: 3600, overlapSeconds: 600 }, t0);
  const first = ring.active.kid;
  await ring.maintain(t0 + 1800 * 1000);
  assert.equal(ring.active.kid, first, 'not due yet');
  await ring.maintain(t0 + 3600 * 1000);
  assert.notEqual(ring.active.kid, first);
  assert.deepEqual(ring.jwks().keys.map((k) => k.kid).sort(), [first, ring.active.kid].sort());
  await ring.maintain(t0 + 3600 * 1000 + 599 * 1000);
  assert.equal(ring.jwks().keys.length, 2, 'still in the overlap');
  await ring.maintain(t0 + 3600 * 1000 + 600 * 1000);
  assert.deepEqual(ring.jwks().keys.map((k) => k.kid), [ring.active.kid]);
  assert.equal(store.keys.has(first), false);
});

test('the ring reopens from its store with the same signing key', async () => {
  const store = memoryStore();
  const a = await SigningKeyRing.open(store, { rotateAfterSeconds: 3600, overlapSeconds: 600 });
  const b = await SigningKeyRing.open(store, { rotateAfterSeconds: 3600, overlapSeconds: 600 });
  assert.equal(b.active.kid, a.active.kid);
  assert.equal(b.jwks().keys[0]!.n, a.jwks().keys[0]!.n);
});
