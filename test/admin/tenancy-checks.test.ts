import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';
import { keys, startTenancyEnv, tokens, type TenancyEnv } from './support.ts';

// Each tenancy refusal, through real HTTP against a running gateway, with the deciding
// policy (id and version) in the trace.

let env: TenancyEnv;
before(async () => { env = await startTenancyEnv(); });
after(async () => { await env.close(); });

describe('subscriptions and tenants on the data plane', () => {
  test('a subscribed consumer with an allowing policy reaches the upstream, and the trace names the policy and its version', async () => {
    const a = await env.get('/shop/items', keys.buyer);
    assert.equal(a.status, 200, a.text);
    const t = await traceOf(env.gw, a);
    const rec = checkRecord(t, 'access-policy');
    assert.equal(t.stateVersion, env.gw.gateway.tenancy.state.version);
    assert.equal(rec.outcome, 'continue');
    assert.equal(rec.evidence!.policy, 'buyers');
    assert.equal(typeof rec.evidence!.policy_version, 'number');
  });

  test('a consumer with no subscription gets 403 subscription_required', async () => {
    const a = await env.get('/shop/items', keys.stranger);
    assertProblem(a, 403, 'subscription_required');
    const e = checkRecord(await traceOf(env.gw, a), 'subscription').evidence!;
    assert.equal(e.consumer, 'acme-stranger');
    assert.equal(e.status, 'none');
  });

  test('a requested but unapproved subscription gets 403 subscription_pending', async () => {
    const a = await env.get('/shop/items', keys.pending);
    assertProblem(a, 403, 'subscription_pending');
    assert.equal(checkRecord(await traceOf(env.gw, a), 'subscription').evidence!.subscription, 'acme-pending.shop');
  });

  test('a key of another tenant gets 403 tenant_mismatch, in both directions', async () => {
    assertProblem(await env.get('/shop/items', keys.globex), 403, 'tenant_mismatch');
    const b = await env.get('/stock', keys.buyer);
    assertProblem(b, 403, 'tenant_mismatch');
    const e = checkRecord(await traceOf(env.gw, b), 'subscription').evidence!;
    assert.equal(e.tenant, 'acme');
    assert.equal(e.api_tenant, 'globex');
  });

  test('routes outside any API and without authentication are not touched by tenancy', async () => {
    assert.equal((await env.get('/open')).status, 200);
  });
});

describe('access policies', () => {
  test('an identity no policy names gets 403 no_access_policy', async () => {
    const a = await env.get('/shop/items', keys.reportsStaging);
    assertProblem(a, 403, 'no_access_policy');
    const e = checkRecord(await traceOf(env.gw, a), 'access-policy').evidence!;
    assert.equal(e.decision, 'none');
    assert.equal(e.policy, null);
  });

  test('an identity named by policies that allow other actions gets 403 permission_denied listing what was considered', async () => {
    const a = await env.get('/shop/items', keys.auditorApp, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assertProblem(a, 403, 'permission_denied');
    const e = checkRecord(await traceOf(env.gw, a), 'access-policy').evidence!;
    assert.equal(e.decision, 'no_allow');
  });

  test('a deny policy wins over an allowing role policy, and the refusal names the deny policy and its version', async () => {
    const get = await env.get('/shop/items', keys.blocked);
    assert.equal(get.status, 200, 'the clerk role allows GET');
    const post = await env.get('/shop/items', keys.blocked, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assertProblem(post, 403, 'permission_denied');
    const rec = checkRecord(await traceOf(env.gw, post), 'access-policy');
    assert.equal(rec.evidence!.policy, 'no-writes-for-blocked');
    assert.equal(typeof rec.evidence!.policy_version, 'number');
    assert.match(rec.rule!.path, /^policies\/no-writes-for-blocked@v\d+$/);
  });

  test('a header condition makes a policy apply only when the header has the listed value', async () => {
    const r = await env.adm('POST', '/v1/policies', tokens.acme, { id: 'reports-write-with-ticket', tenant: 'acme', api: 'shop', subjects: { consumers: ['acme-reports'] }, routes: ['items'], methods: ['POST'], conditions: [{ header: 'X-Change-Ticket', equals: ['CHG-1'] }] });
    assert.equal(r.status, 201, r.text);
    const post = (ticket?: string) => env.get('/shop/items', keys.auditorApp, { method: 'POST', headers: { 'content-type': 'application/json', ...(ticket ? { 'x-change-ticket': ticket } : {}) }, body: '{}' });
    assertProblem(await post('CHG-2'), 403, 'permission_denied');
    assert.equal((await post('CHG-1')).status, 201, 'the upstream answers the POST');
  });
});

describe('resource ownership', () => {
  test('the owner of items:7 may PUT it', async () => {
    const a = await env.get('/shop/items/7', keys.buyer, { method: 'PUT' });
    assert.equal(a.status, 200, a.text);
  });

  test('another allowed identity gets 403 not_resource_owner, and the trace names the owner and the caller', async () => {
    const a = await env.get('/shop/items/7', keys.blocked, { method: 'PUT' });
    assertProblem(a, 403, 'not_resource_owner');
    assert.doesNotMatch(a.json.detail as string, /acme-buyer/, 'the caller is not told who owns it');
    const e = checkRecord(await traceOf(env.gw, a), 'ownership').evidence!;
    assert.equal(e.owner, 'acme-buyer');
    assert.equal(e.caller, 'acme-blocked');
    assert.equal(e.resource, 'items:7');
  });

  test('a resource with no recorded owner is closed to everyone, and reading it is not owner-only', async () => {
    assertProblem(await env.get('/shop/items/8', keys.buyer, { method: 'PUT' }), 403, 'not_resource_owner');
    assert.equal((await env.get('/shop/items/8', keys.buyer)).status, 200);
  });
});

describe('API lifecycle', () => {
  test('a deprecated API still answers, with Deprecation, Sunset and a successor Link', async () => {
    const r = await env.adm('PATCH', '/v1/apis/stock', tokens.globex, { status: 'deprecated', sunset: '2027-01-31T00:00:00Z', successorLink: '/v2/stock' });
    assert.equal(r.status, 200, r.text);
    const deprecatedAt = Date.parse((r.json.item as { data: { deprecatedAt: string } }).data.deprecatedAt);
    assert.ok(Math.abs(deprecatedAt - Date.now()) < 60_000, 'the moment of deprecation is recorded');
    const a = await env.get('/stock', keys.globex);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('deprecation'), `@${Math.floor(deprecatedAt / 1000)}`);
    assert.equal(a.headers.get('sunset'), 'Sun, 31 Jan 2027 00:00:00 GMT');
    assert.equal(a.headers.get('link'), '</v2/stock>; rel="successor-version"');
    assert.equal((await env.get('/shop/items', keys.buyer)).headers.get('deprecation'), null, 'other APIs are not marked');
  });

  test('a retired API answers 410 api_version_retired naming its successor', async () => {
    const r = await env.adm('PATCH', '/v1/apis/stock', tokens.globex, { status: 'retired', successor: 'stock' });
    assert.equal(r.status, 200, r.text);
    const a = await env.get('/stock', keys.globex);
    assertProblem(a, 410, 'api_version_retired');
    assert.match(a.json.detail as string, /successor stock/);
    assert.equal(a.headers.get('link'), '</v2/stock>; rel="successor-version"');
    assert.equal((await env.adm('PATCH', '/v1/apis/stock', tokens.globex, { status: 'published' })).status, 200);
    assert.equal((await env.get('/stock', keys.globex)).status, 200);
  });
});
