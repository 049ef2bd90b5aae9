import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { RedisFailureCounter } from '../../src/limits/redis-failure-counter.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';
import { tokens } from './support.ts';
import { startSecurityEnv, type SecurityEnv } from './security-support.ts';

// Two admin listeners sharing one Redis key prefix are two nodes of one cluster (--redis):
// guesses spread over them meet one budget. With Redis unreachable each still locks on its own.

const throttle = { maxFailures: 4, windowSeconds: 30, globalMaxFailures: 1000, maxTrackedClients: 100 };

/** The sum of a metric's series whose labels include `label`, from a /metrics text. */
const metric = (text: string, name: string, label: string) => text.split('\n')
  .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
  .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

describe('two admin listeners on one Redis', () => {
  const stores: RedisCounterStore[] = [];
  let a: SecurityEnv;
  let b: SecurityEnv;
  before(async () => {
    const prefix = uniquePrefix('adminshare');
    for (let i = 0; i < 2; i++) stores.push(new RedisCounterStore({ url: redisUrl, prefix }));
    await Promise.all(stores.map((s) => s.ready()));
    const envs = await Promise.all(stores.map((s) => startSecurityEnv(throttle, [], new RedisFailureCounter({ redis: s.redis, prefix }))));
    a = envs[0]!;
    b = envs[1]!;
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await stores[0]?.clear();
    for (const s of stores) s.close();
  });

  test('wrong tokens sent alternately to node A and node B lock the address on both after 4 in all, the right token included', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < 4; i++) {
      const answer = await (i % 2 ? b : a).req({ path: '/v1/tenants', token: `adm_spread_${i}`, from });
      assert.equal(answer.status, 401, `guess ${i} on node ${i % 2 ? 'B' : 'A'}: ${answer.text}`);
    }
    for (const env of [a, b]) {
      const right = await env.req({ path: '/v1/tenants', token: tokens.operator, from });
      assert.equal(right.status, 429, right.text);
      assert.equal(right.json.code, 'admin_auth_throttled');
      const retryAfter = Number(right.headers['retry-after']);
      assert.ok(retryAfter > 20 && retryAfter <= 30, `Retry-After ${right.headers['retry-after']}`);
    }
    assert.equal((await b.req({ path: '/v1/tenants', token: tokens.operator, from: '127.0.0.3' })).status, 200, 'another address is not affected');
  });

  test('the lock is logged once, by the node whose failure began it, and no decision was taken without Redis', async () => {
    const locks = [...a.logs, ...b.logs].filter((l) => l.event === 'admin_auth_locked' && l.client === '127.0.0.2');
    assert.equal(locks.length, 1, JSON.stringify(locks));
    assert.equal(locks[0]!.scope, 'client');
    assert.ok(b.logs.some((l) => l.event === 'admin_auth_locked'), 'node B took the fourth guess, so it began the lock');
    const m = await a.req({ path: '/metrics', token: tokens.operator });
    assert.equal(metric(m.text, 'pinpoint_auth_throttle_local_decisions_total', 'surface="admin"'), 0, 'Redis answered every decision');
  });
});

describe('an admin listener whose Redis is unreachable', () => {
  let env: SecurityEnv;
  let store: RedisCounterStore;
  before(async () => {
    // Port 9 (discard) on loopback: nothing listens, connections are refused.
    const prefix = uniquePrefix('admindown');
    store = new RedisCounterStore({ url: 'redis://127.0.0.1:9', prefix });
    env = await startSecurityEnv(throttle, [], new RedisFailureCounter({ redis: store.redis, prefix }));
  });
  after(async () => { await env?.close(); store?.close(); });

  test('still locks an address after 4 wrong tokens (never open), and /metrics counts every decision it took alone', async () => {
    const from = '127.0.0.4';
    for (let i = 0; i < 4; i++) assert.equal((await env.req({ path: '/v1/tenants', token: `adm_down_${i}`, from })).status, 401);
    const right = await env.req({ path: '/v1/tenants', token: tokens.operator, from });
    assert.equal(right.status, 429, right.text);
    const m = await env.req({ path: '/metrics', token: tokens.operator, from: '127.0.0.5' });
    assert.equal(m.status, 200);
    assert.ok(metric(m.text, 'pinpoint_auth_throttle_local_decisions_total', 'surface="admin"') >= 6, m.text.split('\n').filter((l) => l.startsWith('pinpoint_auth')).join('\n'));
  });
});
