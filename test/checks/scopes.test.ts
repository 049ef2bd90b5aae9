import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintDemoToken } from '../../src/cli/token.ts';
import { demoIssuer, demoIssuerPublicJwk } from '../../src/demo/demo-keys.ts';
import { call, keyEntry, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';

// Authorization after a credential is accepted: scopes say what the credential may do
// (RFC 6750 insufficient_scope), roles say who may act, and a suspended consumer or tenant
// is refused whatever its key can do.

const KEYS = {
  reader: 'pk_scope_reader_1a2b3c4d5e6f7081',
  writer: 'pk_scope_writer_9f8e7d6c5b4a3928',
  admin: 'pk_scope_admin_0c1d2e3f4a5b6c79',
  frozen: 'pk_scope_frozen_7e6d5c4b3a291807',
  acme: 'pk_scope_acme_4b5c6d7e8f901a26',
  globex: 'pk_scope_globex_2d3e4f5a6b7c8d91',
} as const;

const ALL = ['orders:read', 'orders:write'];

describe('scopes, roles and account status', () => {
  let upstream: TestUpstream;
  let t: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    t = await startTestGateway({
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      tenants: [{ id: 'acme', status: 'suspended' }, { id: 'globex' }],
      consumers: [
        { id: 'storefront', keys: [keyEntry(KEYS.reader, 'storefront-ro', ['orders:read'])] },
        { id: 'backoffice', keys: [keyEntry(KEYS.writer, 'backoffice-rw', ALL, { roles: ['clerk'] }), keyEntry(KEYS.admin, 'backoffice-admin', ALL, { roles: ['admin'] })] },
        { id: 'late-payer', status: 'suspended', suspendedReason: 'invoice 2024-117 unpaid', keys: [keyEntry(KEYS.frozen, 'late-payer-key', ALL, { roles: ['admin'] })], jwtSubjects: ['late-payer-bot'] },
        { id: 'acme-app', tenant: 'acme', keys: [keyEntry(KEYS.acme, 'acme-key', ALL)] },
        { id: 'globex-app', tenant: 'globex', keys: [keyEntry(KEYS.globex, 'globex-key', ALL)] },
      ],
      issuers: [{ issuer: demoIssuer.issuer, audiences: [demoIssuer.audience], algorithms: ['RS256'], jwks: { keys: [demoIssuerPublicJwk()] } }],
      routes: [
        { id: 'orders', path: '/orders', methods: ['GET', 'POST'], upstream: 'backend', auth: ['apiKey', 'jwt'], scopes: { GET: ['orders:read'], POST: ['orders:write'] } },
        { id: 'refunds', path: '/refunds', methods: ['POST'], upstream: 'backend', auth: ['apiKey', 'jwt'], roles: { POST: ['admin', 'finance'] } },
      ],
    });
  });

  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  const withKey = (key: string, method = 'GET', path = '/orders'): Promise<Answer> =>
    call(`${t.url}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{"sku":"A-1"}' } : {}) });

  const withToken = async (opts: { sub: string; scope?: string; roles?: string }, method = 'GET', path = '/orders'): Promise<Answer> =>
    call(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${await mintDemoToken(opts)}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });

  async function notForwarded(send: () => Promise<Answer>): Promise<Answer> {
    const seen = upstream.seen.length;
    const a = await send();
    assert.equal(upstream.seen.length, seen, `the upstream saw nothing (got ${a.status})`);
    return a;
  }

  test('a read-only key posting an order gets 403 insufficient_scope with an RFC 6750 challenge', async () => {
    const a = await notForwarded(() => withKey(KEYS.reader, 'POST'));
    assertProblem(a, 403, 'insufficient_scope');
    assert.equal(a.headers.get('www-authenticate'), 'ApiKey realm="pinpoint", error="insufficient_scope", scope="orders:write"');
  });

  test('the insufficient_scope detail names the key, the scopes it has and the scope the call needs', async () => {
    const a = await withKey(KEYS.reader, 'POST');
    assert.equal(a.json.detail, "key 'storefront-ro' has orders:read; POST /orders needs orders:write.");
    const evidence = checkRecord(await traceOf(t, a), 'scopes').evidence ?? {};
    assert.deepEqual(evidence.missing, ['orders:write']);
    assert.deepEqual(evidence.has, ['orders:read']);
  });

  test('the same read-only key may read orders', async () => {
    const a = await withKey(KEYS.reader);
    assert.equal(a.status, 200, a.text);
  });

  test('a key holding orders:write places an order', async () => {
    const a = await withKey(KEYS.writer, 'POST');
    assert.equal(a.status, 201, a.text);
    assert.equal(upstream.seen.at(-1)!.body, '{"sku":"A-1"}');
  });

  test('a bearer token without the scope gets 403 insufficient_scope with a Bearer challenge', async () => {
    const a = await notForwarded(() => withToken({ sub: 'reporting-job', scope: 'orders:read' }, 'POST'));
    assertProblem(a, 403, 'insufficient_scope');
    assert.equal(a.headers.get('www-authenticate'), 'Bearer realm="pinpoint", error="insufficient_scope", scope="orders:write"');
    assert.match(String(a.json.detail), /token for 'reporting-job' has orders:read; POST \/orders needs orders:write/);
  });

  test('a bearer token without any scope is told it has none', async () => {
    const a = await withToken({ sub: 'bare-job' });
    assertProblem(a, 403, 'insufficient_scope');
    assert.match(String(a.json.detail), /has no scopes; GET \/orders needs orders:read/);
  });

  test('a clerk refunding an order gets 403 permission_denied', async () => {
    const a = await notForwarded(() => withKey(KEYS.writer, 'POST', '/refunds'));
    assertProblem(a, 403, 'permission_denied');
    assert.equal(a.headers.get('www-authenticate'), null, 'a role refusal is not a token problem');
    assert.match(String(a.json.detail), /backoffice-rw/);
    const evidence = checkRecord(await traceOf(t, a), 'roles').evidence ?? {};
    assert.deepEqual(evidence.required_any, ['admin', 'finance']);
    assert.deepEqual(evidence.has, ['clerk']);
  });

  test('any one of the listed roles is enough to refund', async () => {
    assert.equal((await withKey(KEYS.admin, 'POST', '/refunds')).status, 201);
    assert.equal((await withToken({ sub: 'finance-bot', roles: 'finance' }, 'POST', '/refunds')).status, 201);
  });

  test('a valid key of a suspended consumer gets 403 account_suspended, whatever its scopes and roles', async () => {
    for (const [method, path] of [['GET', '/orders'], ['POST', '/orders'], ['POST', '/refunds']] as const) {
      const a = await notForwarded(() => withKey(KEYS.frozen, method, path));
      assertProblem(a, 403, 'account_suspended');
      assert.equal(a.json.detail, 'The account late-payer is suspended.');
      assert.doesNotMatch(a.text, /invoice/, 'the operator\'s reason stays in the log');
    }
    const trace = await traceOf(t, await withKey(KEYS.frozen));
    assert.equal(trace.deniedBy, 'account-status');
    assert.equal(checkRecord(trace, 'account-status').evidence?.reason, 'invoice 2024-117 unpaid');
    assert.equal(checkRecord(trace, 'api-key').outcome, 'continue', 'the key itself was fine');
  });

  test('a token whose subject maps to a suspended consumer gets 403 account_suspended', async () => {
    const a = await notForwarded(() => withToken({ sub: 'late-payer-bot', scope: 'orders:read' }));
    assertProblem(a, 403, 'account_suspended');
  });

  test('a valid key of a consumer in a suspended tenant gets 403 account_suspended', async () => {
    const a = await notForwarded(() => withKey(KEYS.acme));
    assertProblem(a, 403, 'account_suspended');
    assert.equal(a.json.detail, 'The tenant acme is suspended.');
    const evidence = checkRecord(await traceOf(t, a), 'account-status').evidence ?? {};
    assert.equal(evidence.suspended, 'tenant');
    assert.equal(evidence.consumer, 'acme-app');
  });

  test('a consumer of an active tenant is served and the upstream learns the tenant', async () => {
    const a = await withKey(KEYS.globex);
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.headers['x-tenant-id'], 'globex');
  });
});
