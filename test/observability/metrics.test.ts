import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { keys, tokens } from '../admin/support.ts';
import { sample, startObsEnv, type ObsEnv } from './support.ts';

// /metrics on the admin listener, scraped over real HTTP after real requests.

let env: ObsEnv;
before(async () => {
  env = await startObsEnv((b) => ({
    ...b,
    routes: [...b.routes, { id: 'limited', path: '/limited', methods: ['GET'], upstream: 'backend', auth: ['apiKey'], rateLimit: { limit: 2, windowSeconds: 60 } }],
  }));
});
after(async () => { await env.close(); });

const scrape = async () => {
  const a = await env.adm('/metrics', tokens.operator);
  assert.equal(a.status, 200, a.text);
  assert.match(a.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return a.text;
};

describe('the Prometheus endpoint', () => {
  test('counts requests by route, status, reason code and origin after real traffic', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await env.get('/shop/items', keys.buyer)).status, 200);
    assert.equal((await env.get('/shop/items', keys.stranger)).status, 403);
    assert.equal((await env.get('/shop/items')).status, 401);
    assert.equal((await env.get('/nope')).status, 404);
    const text = await scrape();
    assert.equal(sample(text, 'pinpoint_requests_total', { route: 'items', status: '200', code: '', origin: 'upstream' }), 3);
    assert.equal(sample(text, 'pinpoint_requests_total', { route: 'items', status: '401', code: 'credential_missing', origin: 'gateway' }), 1);
    assert.equal(sample(text, 'pinpoint_requests_total', { route: '(none)', status: '404', code: 'route_not_found', origin: 'gateway' }), 1);
    const refused403 = text.split('\n').find((l) => l.startsWith('pinpoint_requests_total{') && l.includes('status="403"') && l.includes('route="items"'));
    assert.ok(refused403, text);
    assert.ok(sample(text, 'pinpoint_refusals_total', { code: 'credential_missing' })! >= 1);
  });

  test('has latency histograms overall per route and per check', async () => {
    const text = await scrape();
    assert.ok(sample(text, 'pinpoint_request_duration_seconds_count', { route: 'items' })! >= 5);
    assert.ok(sample(text, 'pinpoint_request_duration_seconds_bucket', { route: 'items', le: '+Inf' })! >= 5);
    const checkLines = text.split('\n').filter((l) => l.startsWith('pinpoint_check_duration_seconds_count{'));
    assert.ok(checkLines.length > 0, 'per-check histograms exist');
  });

  test('counts rate-limit decisions, admitted and refused', async () => {
    for (let i = 0; i < 3; i++) await env.get('/limited', keys.buyer);
    const text = await scrape();
    const pass = text.split('\n').find((l) => l.startsWith('pinpoint_limit_decisions_total{') && l.includes('outcome="pass"') && l.includes('kind="rate"'));
    const deny = text.split('\n').find((l) => l.startsWith('pinpoint_limit_decisions_total{') && l.includes('outcome="deny"') && l.includes('kind="rate"'));
    assert.ok(pass && Number(pass.split(' ').at(-1)) === 2, text);
    assert.ok(deny && Number(deny.split(' ').at(-1)) === 1, text);
    assert.equal(sample(text, 'pinpoint_requests_total', { route: 'limited', status: '429', code: 'rate_limited', origin: 'gateway' }), 1);
  });

  test('shows the call log counters, upstream health and the running versions', async () => {
    await env.gw.gateway.writer.flush();
    const text = await scrape();
    assert.ok(sample(text, 'pinpoint_call_log_written_total')! >= 5);
    assert.equal(sample(text, 'pinpoint_call_log_dropped_total'), 0);
    assert.equal(sample(text, 'pinpoint_upstream_target_healthy', { upstream: 'backend' }), 1);
    assert.equal(sample(text, 'pinpoint_config_version'), env.gw.gateway.current().version);
  });

  test('needs an operator or auditor token; a tenant admin gets 403 admin_forbidden', async () => {
    assertProblem(await env.adm('/metrics', null), 401, 'admin_unauthenticated');
    assertProblem(await env.adm('/metrics', tokens.acme), 403, 'admin_forbidden');
    assert.equal((await env.adm('/metrics', tokens.auditor)).status, 200);
  });
});
