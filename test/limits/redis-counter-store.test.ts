import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';
import { counterStoreContract } from './counter-store-contract.ts';

counterStoreContract('redis', async (t) => {
  const store = new RedisCounterStore({ url: redisUrl, prefix: uniquePrefix('contract') });
  await store.ready();
  t.after(async () => { await store.clear(); store.close(); });
  return store;
});

const rule = { limit: 3, windowMs: 60_000, algorithm: 'sliding-log' } as const;

test('two stores on the same Redis and prefix share one counter, as two nodes do', async (t) => {
  const prefix = uniquePrefix('shared');
  const a = new RedisCounterStore({ url: redisUrl, prefix });
  const b = new RedisCounterStore({ url: redisUrl, prefix });
  t.after(async () => { await a.clear(); a.close(); b.close(); });
  await Promise.all([a.ready(), b.ready()]);
  const now = Date.now();
  const answers = await Promise.all([a, b, a, b, a, b].map((s, i) => s.rate('k', rule, now + i, true)));
  assert.equal(answers.filter((d) => d.allowed).length, 3, 'exactly the limit is admitted across both');
});

test('concurrent decisions on one key never admit more than the limit (atomic scripts)', async (t) => {
  const store = new RedisCounterStore({ url: redisUrl, prefix: uniquePrefix('atomic') });
  t.after(async () => { await store.clear(); store.close(); });
  await store.ready();
  const now = Date.now();
  const wide = { limit: 100, windowMs: 60_000, algorithm: 'sliding-log' } as const;
  const answers = await Promise.all(Array.from({ length: 400 }, () => store.rate('k', wide, now, true)));
  assert.equal(answers.filter((d) => d.allowed).length, 100);
  const gcra = { limit: 100, windowMs: 60_000, algorithm: 'gcra' } as const;
  const g = await Promise.all(Array.from({ length: 400 }, () => store.rate('g', gcra, now, true)));
  assert.equal(g.filter((d) => d.allowed).length, 100);
});

test('an unreachable Redis answers at once from the local fallback, flagged unavailable', async (t) => {
  // Port 9 (discard) on loopback: nothing listens, connections are refused.
  const store = new RedisCounterStore({ url: 'redis://127.0.0.1:9', prefix: uniquePrefix('down') });
  t.after(() => store.close());
  await assert.rejects(store.ready(300), /not reachable/);
  const started = performance.now();
  const d = await store.rate('k', rule, Date.now(), true);
  assert.ok(performance.now() - started < 50, 'no waiting for a reconnect');
  assert.equal(d.allowed, true);
  assert.match(d.unavailable ?? '', /Redis/);
  for (let i = 0; i < 2; i++) await store.rate('k', rule, Date.now(), true);
  const fourth = await store.rate('k', rule, Date.now(), true);
  assert.equal(fourth.allowed, false, 'the fallback still counts, per node');
  assert.ok(fourth.unavailable);
});

test('clear() removes every key under the prefix and nothing else', async (t) => {
  const prefix = uniquePrefix('clear');
  const store = new RedisCounterStore({ url: redisUrl, prefix });
  const other = new RedisCounterStore({ url: redisUrl, prefix: uniquePrefix('other') });
  t.after(async () => { await other.clear(); store.close(); other.close(); });
  await Promise.all([store.ready(), other.ready()]);
  await store.rate('a', rule, Date.now(), true);
  await store.quota('b', 5, Date.now() + 60_000, Date.now(), true);
  await other.rate('a', rule, Date.now(), true);
  assert.equal(await store.clear(), 2);
  assert.equal((await store.rate('a', rule, Date.now(), false)).used, 1, 'counter starts afresh');
  assert.equal((await other.rate('a', rule, Date.now(), false)).used, 2, 'another prefix is untouched');
});
