import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SecretSealer } from '../../src/vault/secret-crypto.ts';
import { VaultStore } from '../../src/vault/store.ts';

const attrs = { enabled: true, nbf: null, exp: null, contentType: null, tags: null };

test('a soft-deleted secret is purged automatically once its retention has passed, not before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-store-'));
  const store = new VaultStore(join(dir, 'vault.db'), new SecretSealer(randomBytes(32)));
  try {
    store.setSecret('v', 'old', 'a'.repeat(32), 'x', attrs, 1000);
    const d = store.deleteSecret('v', 'old', 2000, 7);
    assert.equal(d?.purgeAt, 2000 + 7 * 86_400);
    assert.equal(store.purgeDue(2000 + 7 * 86_400 - 1), 0);
    assert.equal(store.nameState('v', 'old'), 'deleted');
    assert.equal(store.purgeDue(2000 + 7 * 86_400), 1);
    assert.equal(store.nameState('v', 'old'), 'absent');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('values are sealed on disk, bound to their place, and a tampered ciphertext does not open', () => {
  const sealer = new SecretSealer(randomBytes(32));
  const sealed = sealer.seal(Buffer.from('top secret value'), 'v/name/1');
  assert.equal(sealer.open(sealed, 'v/name/1').toString(), 'top secret value');
  assert.throws(() => sealer.open(sealed, 'v/other/1'), 'moved to another name');
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(() => sealer.open(tampered, 'v/name/1'), 'tampered');
  assert.throws(() => new SecretSealer(randomBytes(32)).open(sealed, 'v/name/1'), 'another master key');

  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-store-'));
  const store = new VaultStore(join(dir, 'vault.db'), sealer);
  try {
    store.setSecret('v', 'plain-check', 'b'.repeat(32), 'findable-plaintext-marker', attrs, 1000);
    store.close();
    for (const f of ['vault.db', 'vault.db-wal']) {
      try { assert.ok(!readFileSync(join(dir, f)).includes(Buffer.from('findable-plaintext-marker')), `${f} holds the plaintext`); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
