import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AuthFailureThrottle, type AuthAttempt, type AuthGate, type AuthThrottleSettings } from '../../src/limits/auth-failure-throttle.ts';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { RedisFailureCounter } from '../../src/limits/redis-failure-counter.ts';
import { SharedAuthThrottle } from '../../src/limits/shared-auth-throttle.ts';
import { createGatewayMetrics } from '../../src/observability/metrics.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';

// Two throttles on one Redis key prefix stand for two nodes (or two workers) of one cluster.
// The HTTP behaviour across two admin listeners is in test/admin/shared-brute-force.test.ts.

const settings: AuthThrottleSettings = { maxFailures: 4, windowSeconds: 30, globalMaxFailures: 1_000, maxTrackedClients: 1_000 };

async function node(t: TestContext, prefix: string, s: AuthThrottleSettings = settings, url = redisUrl): Promise<{ gate: SharedAuthThrottle; store: RedisCounterStore }> {
  const store = new RedisCounterStore({ url, prefix });
  t.after(async () => { if (store.redis.status === 'ready') await store.clear(); store.close(); });
  if (url === redisUrl) await store.ready();
  return { gate: new SharedAuthThrottle(new AuthFailureThrottle('admin', s), new RedisFailureCounter({ redis: store.redis, prefix })), store };
}

const attempt = async (gate: AuthGate, ip: string): Promise<AuthAttempt> => gate.attempt(ip);

/** One wrong credential: true when it was answered as wrong (401), false when as throttled (429). */
async function guess(gate: AuthGate, ip: string): Promise<boolean> {
  const a = await attempt(gate, ip);
  if (a.refused) return false;
  return (await a.failed()).refused === null;
}

/** One right credential: true when it was let in, false when answered as throttled. */
async function rightOne(gate: AuthGate, ip: string): Promise<boolean> {
  const a = await attempt(gate, ip);
  if (a.refused) return false;
  return (await a.succeeded()) === null;
}

test('failures on node A count on node B: the lock comes after the configured total, not twice it', async (t) => {
  const prefix = uniquePrefix('authshare');
  const [a, b] = await Promise.all([node(t, prefix), node(t, prefix)]);
  const ip = '192.0.2.10';
  assert.equal(await guess(a.gate, ip), true);
  assert.equal(await guess(b.gate, ip), true);
  assert.equal(await guess(a.gate, ip), true);
  assert.equal(await guess(b.gate, ip), true);
  for (const gate of [a.gate, b.gate]) {
    const next = await attempt(gate, ip);
    assert.equal(next.refused?.scope, 'client', 'the fifth try is refused on both nodes');
    assert.ok(next.refused.retryAfterSeconds > 25 && next.refused.retryAfterSeconds <= 30, `Retry-After ${next.refused.retryAfterSeconds}`);
  }
  assert.equal((await attempt(b.gate, '192.0.2.11')).refused, null, 'another address is not affected');
});

test('a parallel burst over two nodes gets exactly the budget of tries, however wide it is', async (t) => {
  const prefix = uniquePrefix('authburst');
  const [a, b] = await Promise.all([node(t, prefix), node(t, prefix)]);
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => guess(i % 2 ? a.gate : b.gate, '192.0.2.20')));
  assert.equal(answers.filter(Boolean).length, settings.maxFailures);
});

test('a right credential at the end of a parallel burst is answered as throttled, like the wrong ones around it', async (t) => {
  const prefix = uniquePrefix('authburstright');
  const [a, b] = await Promise.all([node(t, prefix), node(t, prefix)]);
  const ip = '192.0.2.21';
  const wrong = Array.from({ length: 30 }, (_, i) => guess(i % 2 ? a.gate : b.gate, ip));
  const right = rightOne(a.gate, ip);
  const answers = await Promise.all(wrong);
  assert.equal(answers.filter(Boolean).length, settings.maxFailures);
  assert.equal(await right, false, 'the guess that was right learns nothing: its answer is the 429 of every late guess');
});

test('concurrent calls with a right credential from one address are never throttled (they take no budget)', async (t) => {
  const prefix = uniquePrefix('authconcurrent');
  const [a, b] = await Promise.all([node(t, prefix), node(t, prefix)]);
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => rightOne(i % 2 ? a.gate : b.gate, '192.0.2.22')));
  assert.deepEqual(answers.filter((x) => !x), [], 'all 50 let in, with a budget of 4 failures');
  for (let i = 0; i < settings.maxFailures; i++) assert.equal(await guess(a.gate, '192.0.2.22'), true, 'the failure budget is whole');
  assert.equal(await guess(b.gate, '192.0.2.22'), false);
});

test('a success does not reset other callers\' counts, nor its own earlier failures', async (t) => {
  const prefix = uniquePrefix('authsuccess');
  const [a, b] = await Promise.all([node(t, prefix), node(t, prefix)]);
  for (let i = 0; i < 3; i++) assert.equal(await guess(a.gate, '192.0.2.30'), true);
  for (let i = 0; i < 5; i++) assert.equal(await rightOne(b.gate, '192.0.2.31'), true);
  // The same client: two failures, a success with another (low-privilege) credential, two failures.
  for (let i = 0; i < 2; i++) await guess(b.gate, '192.0.2.32');
  assert.equal(await rightOne(a.gate, '192.0.2.32'), true);
  assert.equal(await guess(a.gate, '192.0.2.30'), true, 'the fourth failure is still let through');
  assert.equal((await attempt(b.gate, '192.0.2.30')).refused?.scope, 'client', '…and it was the last');
  for (let i = 0; i < 2; i++) assert.equal(await guess(b.gate, '192.0.2.32'), true);
  assert.equal((await attempt(a.gate, '192.0.2.32')).refused?.scope, 'client');
});

test('the global backstop is shared too, and spares a client that proved a credential on any node', async (t) => {
  const prefix = uniquePrefix('authglobal');
  const wide = { ...settings, globalMaxFailures: 6 };
  const [a, b] = await Promise.all([node(t, prefix, wide), node(t, prefix, wide)]);
  assert.equal(await rightOne(a.gate, '198.51.100.1'), true);
  assert.equal(await rightOne(b.gate, '198.51.100.2'), true);
  for (let i = 0; i < 6; i++) assert.equal(await guess(i % 2 ? a.gate : b.gate, `203.0.113.${i}`), true);
  assert.equal((await attempt(b.gate, '203.0.113.99')).refused?.scope, 'global', 'an unproven client is refused on the other node');
  assert.equal((await attempt(b.gate, '198.51.100.1')).refused, null, 'the admin who signed in on node A keeps working on node B');
  // A guesser cannot buy its way past the backstop with a credential of its own: once a proven
  // client fails, the global lock applies to it too.
  assert.equal((await attempt(b.gate, '198.51.100.2')).refused, null);
  assert.equal(await guess(a.gate, '198.51.100.2'), true, 'its one failure is answered as wrong');
  assert.equal((await attempt(b.gate, '198.51.100.2')).refused?.scope, 'global');
});

test('every key it writes expires within one window', async (t) => {
  const prefix = uniquePrefix('authexpiry');
  const { gate, store } = await node(t, prefix, { ...settings, windowSeconds: 2 });
  for (let i = 0; i < 4; i++) await guess(gate, '192.0.2.40');
  assert.equal(await rightOne(gate, '192.0.2.41'), true);
  const keys = await store.redis.keys(`${prefix}auth:*`);
  // A success takes no budget, so it writes only its proven mark.
  assert.deepEqual(keys.map((k) => k.slice(`${prefix}auth:admin:`.length)).sort(), ['count', 'count:192.0.2.40', 'lock:192.0.2.40', 'proven:192.0.2.41'], keys.join(', '));
  for (const k of keys) {
    const ttl = await store.redis.pttl(k);
    assert.ok(ttl > 0 && ttl <= 2_000, `${k} has a TTL of ${ttl} ms`);
  }
  await new Promise((r) => setTimeout(r, 2_100));
  assert.deepEqual(await store.redis.keys(`${prefix}auth:*`), []);
  assert.equal((await attempt(gate, '192.0.2.40')).refused, null, 'the lock ended with its window');
});

test('with Redis unreachable the throttle still limits, per node, and the metric counts each local decision', async (t) => {
  const metrics = createGatewayMetrics(null, { defaultMetrics: false });
  t.after(() => metrics.close());
  // Port 9 (discard) on loopback: nothing listens, connections are refused.
  const { gate } = await node(t, uniquePrefix('authdown'), settings, 'redis://127.0.0.1:9');
  const started = performance.now();
  const first = gate.attempt('192.0.2.50');
  assert.ok(!(first instanceof Promise), 'answered at once, without waiting for a reconnect');
  assert.ok(performance.now() - started < 50);
  let admitted = 0;
  for (let i = 0; i < 10; i++) if (await guess(gate, '192.0.2.50')) admitted++;
  assert.equal(admitted, settings.maxFailures, 'never open: the local count locks the client');
  const text = await metrics.text();
  const line = text.split('\n').find((l) => l.startsWith('pinpoint_auth_throttle_local_decisions_total{surface="admin"}'));
  assert.ok(line && Number(line.split(' ').pop()) >= 11, line ?? text);
});
