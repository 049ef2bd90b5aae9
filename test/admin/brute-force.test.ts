import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokens } from './support.ts';
import { sleep, startSecurityEnv, type RawAnswer, type SecurityEnv } from './security-support.ts';

// Guessing admin tokens over real HTTP: each client address gets a few tries per window, then
// nothing, not even with the right token, until the lock ends; the global count is the backstop.

function assertThrottled(a: RawAnswer, maxRetryAfter: number): number {
  assert.equal(a.status, 429, a.text);
  assert.equal(a.headers['content-type'], 'application/problem+json');
  assert.equal(a.json.code, 'admin_auth_throttled');
  assert.equal(typeof a.json.hint, 'string');
  const retryAfter = Number(a.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After ${a.headers['retry-after']}`);
  return retryAfter;
}

describe('per-client lock', () => {
  let env: SecurityEnv;
  before(async () => { env = await startSecurityEnv({ maxFailures: 5, windowSeconds: 4, globalMaxFailures: 1000, maxTrackedClients: 100 }); });
  after(async () => { await env.close(); });

  test('after 5 wrong tokens from one address the next call gets 429 admin_auth_throttled with Retry-After, even with the right token; it passes again after the window', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < 5; i++) {
      const a = await env.req({ path: '/v1/tenants', token: `adm_guess_${i}`, from });
      assert.equal(a.status, 401, `guess ${i}: ${a.text}`);
      assert.equal(a.json.code, 'admin_unauthenticated');
    }
    const lockedAt = Date.now();
    const right = await env.req({ path: '/v1/tenants', token: tokens.operator, from });
    const retryAfter = assertThrottled(right, 4);
    assertThrottled(await env.req({ path: '/v1/tenants', token: 'adm_guess_more', from }), 4);
    // The refusal says nothing about the token: the body is the same for a right and a wrong one.
    assert.doesNotMatch(right.text, /operator|tenants/i);

    // Another address is not affected.
    assert.equal((await env.req({ path: '/v1/tenants', token: tokens.operator, from: '127.0.0.3' })).status, 200);

    await sleep(Math.max(0, lockedAt + retryAfter * 1000 + 300 - Date.now()));
    const later = await env.req({ path: '/v1/tenants', token: tokens.operator, from });
    assert.equal(later.status, 200, later.text);
  });

  test('the lock is logged once with the address, every failure is logged, and the metrics count failures, locks and refusals', async () => {
    const locked = env.logs.filter((l) => l.event === 'admin_auth_locked');
    assert.equal(locked.length, 1, JSON.stringify(locked));
    assert.equal(locked[0]!.client, '127.0.0.2');
    assert.equal(locked[0]!.scope, 'client');
    assert.equal(locked[0]!.level, 40, 'a lock is a warning');
    assert.ok(env.logs.filter((l) => l.event === 'admin_auth_failed' && l.client === '127.0.0.2').length >= 5);
    assert.ok(!JSON.stringify(env.logs).includes('adm_guess_'), 'no guessed token is ever logged');

    const m = await env.req({ path: '/metrics', token: tokens.operator });
    assert.equal(m.status, 200);
    // Sum of the series of a metric whose labels include all of `labels` (others, like node, may be there too).
    const value = (name: string, labels: string[]) => m.text.split('\n')
      .filter((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.ok(value('pinpoint_auth_failures_total', ['surface="admin"']) >= 5, m.text.split('\n').filter((l) => l.startsWith('pinpoint_auth')).join('\n'));
    assert.ok(value('pinpoint_auth_lockouts_total', ['surface="admin"', 'scope="client"']) >= 1);
    assert.ok(value('pinpoint_auth_throttled_total', ['surface="admin"', 'scope="client"']) >= 2);
  });

  test('calls without any Authorization header are not counted as guesses', async () => {
    const from = '127.0.0.4';
    for (let i = 0; i < 12; i++) assert.equal((await env.req({ path: '/v1/tenants', from })).status, 401);
    assert.equal((await env.req({ path: '/v1/tenants', token: tokens.operator, from })).status, 200);
  });

  test('wrong tokens on /metrics count too: it is the same credential check', async () => {
    const from = '127.0.0.5';
    for (let i = 0; i < 5; i++) assert.equal((await env.req({ path: '/metrics', token: `adm_metrics_guess_${i}`, from })).status, 401);
    assertThrottled(await env.req({ path: '/v1/tenants', token: tokens.operator, from }), 4);
  });

  test('a success does not reset the count: a caller with a low-privilege token cannot buy more guesses at another', async () => {
    const from = '127.0.0.6';
    for (let i = 0; i < 4; i++) {
      assert.equal((await env.req({ path: '/v1/tenants', token: `adm_guess_${i}`, from })).status, 401);
      assert.equal((await env.req({ path: '/v1/tenants', token: tokens.auditor, from })).status, 200);
    }
    assert.equal((await env.req({ path: '/v1/tenants', token: 'adm_guess_last', from })).status, 401);
    assertThrottled(await env.req({ path: '/v1/tenants', token: tokens.auditor, from }), 4);
  });
});

describe('global backstop', () => {
  let env: SecurityEnv;
  before(async () => { env = await startSecurityEnv({ maxFailures: 100, windowSeconds: 5, globalMaxFailures: 4, maxTrackedClients: 100 }); });
  after(async () => { await env.close(); });

  test('failures spread over many addresses lock every unproven client, while an admin who signed in recently keeps working', async () => {
    assert.equal((await env.req({ path: '/v1/tenants', token: tokens.operator, from: '127.0.1.1' })).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await env.req({ path: '/v1/tenants', token: `adm_spread_${i}`, from: `127.0.2.${i + 1}` })).status, 401);
    const fresh = await env.req({ path: '/v1/tenants', token: tokens.operator, from: '127.0.3.1' });
    assertThrottled(fresh, 5);
    assert.match(fresh.json.detail as string, /overall/);
    assert.equal((await env.req({ path: '/v1/tenants', token: tokens.operator, from: '127.0.1.1' })).status, 200);
    const locked = env.logs.find((l) => l.event === 'admin_auth_locked');
    assert.equal(locked?.scope, 'global');
  });
});
