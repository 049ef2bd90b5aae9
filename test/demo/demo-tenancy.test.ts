import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call } from '../support/harness.ts';
import { runCli, startDemo, type RunningDemo } from '../support/cli.ts';
import { assertProblem } from '../support/assertions.ts';

// DEMO.md, "Admin (port 8081) and tenants": started exactly as `npm start` does.

let demo: RunningDemo;
let gw: string;
let adm: string;
let dataDir: string;

before(async () => {
  demo = await startDemo('pinpoint-demo-tenancy-');
  gw = demo.gateway;
  adm = demo.admin;
  dataDir = demo.dataDir;
});

after(async () => {
  const code = await demo.stop();
  assert.equal(code, 0);
});

const admin = (path: string, token: string, init: RequestInit = {}) => call(`${adm}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
const token = (...args: string[]) => runCli(['token', ...args]).stdout.trim();

describe('the demo admin API on PORT+1', () => {
  test('serves its OpenAPI document and knows the three demo admin tokens by role', async () => {
    const doc = await call(`${adm}/openapi.json`);
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.1.0');
    for (const [t, role] of [['adm_demo_operator', 'operator'], ['adm_demo_acme', 'tenant-admin'], ['adm_demo_auditor', 'auditor']]) {
      const s = await admin('/v1/status', t!);
      assert.equal((s.json.principal as { role: string }).role, role);
    }
  });

  test('adm_demo_acme cannot read or change anything of globex', async () => {
    assertProblem(await admin('/v1/tenants/globex', 'adm_demo_acme'), 404, 'admin_not_found');
    assertProblem(await admin('/v1/apis/inventory', 'adm_demo_acme'), 404, 'admin_not_found');
    assertProblem(await admin('/v1/consumers/globex-reader', 'adm_demo_acme', { method: 'PATCH', body: '{"name":"x"}' }), 404, 'admin_not_found');
    const apis = await admin('/v1/apis', 'adm_demo_acme');
    assert.deepEqual((apis.json.items as { id: string }[]).map((a) => a.id), ['orders']);
  });
});

describe('the demo tenants on the gateway', () => {
  test('pk_globex_reader reads the globex inventory, and is refused 403 on acme orders', async () => {
    assert.equal((await call(`${gw}/globex/inventory`, { headers: { 'x-api-key': 'pk_globex_reader' } })).status, 200);
    const a = await call(`${gw}/api/orders`, { headers: { 'x-api-key': 'pk_globex_reader' } });
    assert.equal(a.status, 403);
    assert.ok(['subscription_required', 'tenant_mismatch'].includes(a.json.code as string), a.text);
  });

  test('pk_demo_writer is refused 403 on the globex inventory', async () => {
    const a = await call(`${gw}/globex/inventory`, { headers: { 'x-api-key': 'pk_demo_writer' } });
    assert.ok(['subscription_required', 'tenant_mismatch'].includes(a.json.code as string), a.text);
    assert.equal(a.status, 403);
  });

  test('pk_demo_pending gets 403 subscription_pending', async () => {
    assertProblem(await call(`${gw}/api/orders`, { headers: { 'x-api-key': 'pk_demo_pending' } }), 403, 'subscription_pending');
  });

  test('pk_demo_reporting_staging gets 403 no_access_policy and explain names acme-reporting', async () => {
    const a = await call(`${gw}/api/orders`, { headers: { 'x-api-key': 'pk_demo_reporting_staging' } });
    assertProblem(a, 403, 'no_access_policy');
    const x = runCli(['explain', a.json.requestId as string, '--data-dir', dataDir]);
    assert.equal(x.status, 0, x.stderr);
    assert.match(x.stdout, /The request was made as acme-reporting-staging .*policies grant GET \/api\/orders to acme-reporting .*Are you using the right client id\/key\?/);
  });

  test('order 1001: pk_demo_writer may PUT it, a token for mallory with orders:write gets 403 not_resource_owner', async () => {
    assert.equal((await call(`${gw}/api/orders/1001`, { method: 'PUT', headers: { 'x-api-key': 'pk_demo_writer' } })).status, 200);
    const t = token('--sub', 'mallory', '--scope', 'orders:write');
    assertProblem(await call(`${gw}/api/orders/1001`, { method: 'PUT', headers: { authorization: `Bearer ${t}` } }), 403, 'not_resource_owner');
  });

  test('approving acme-newapp\'s subscription through the admin API lets pk_demo_pending in', async () => {
    const r = await admin('/v1/subscriptions/acme-newapp.orders/approve', 'adm_demo_acme', { method: 'POST', body: '{}' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await call(`${gw}/api/orders`, { headers: { 'x-api-key': 'pk_demo_pending' } })).status, 200);
  });
});

describe('the README "operate it" walk-through', () => {
  test('tenant, API, app, key, subscription, policy: 200; revoke: 403 subscription_required, explained with its version', async () => {
    const op = (path: string, body?: unknown) => admin(path, 'adm_demo_operator', body === undefined ? { method: 'POST' } : { method: 'POST', body: JSON.stringify(body) });
    assert.equal((await op('/v1/tenants', { id: 'initech', name: 'Initech' })).status, 201);
    assert.equal((await op('/v1/apis', { id: 'widgets', tenant: 'initech', routes: ['playground'] })).status, 201);
    assert.equal((await op('/v1/consumers', { id: 'initech-app', tenant: 'initech', name: 'Initech app' })).status, 201);
    const key = (await op('/v1/consumers/initech-app/keys', {})).json.secret as string;
    assert.equal((await op('/v1/subscriptions', { consumer: 'initech-app', api: 'widgets' })).status, 201);
    assert.equal((await op('/v1/subscriptions/initech-app.widgets/approve')).status, 200);
    assert.equal((await op('/v1/policies', { id: 'app-reads', tenant: 'initech', api: 'widgets', subjects: { consumers: ['initech-app'] }, methods: ['GET'] })).status, 201);
    const ok = await call(`${gw}/playground/widgets`, { headers: { 'x-api-key': key } });
    assert.equal(ok.status, 200);
    assert.equal((await op('/v1/subscriptions/initech-app.widgets/revoke')).status, 200);
    const no = await call(`${gw}/playground/widgets`, { headers: { 'x-api-key': key } });
    assertProblem(no, 403, 'subscription_required');
    const x = runCli(['explain', ok.headers.get('x-request-id')!, '--data-dir', dataDir]);
    assert.match(x.stdout, /allowed under state v\d+; v\d+ — created [0-9.]+ s after the request — would refuse it \(subscription_required/);
    const audit = await admin('/v1/audit?limit=3', 'adm_demo_operator');
    assert.equal((audit.json.items as { summary: string }[])[0]!.summary, 'revoke subscription initech-app.widgets');
  });
});

describe('attribute conditions on JWT claims', () => {
  test('a deny policy conditioned on the token subject refuses mallory and lets alice through', async () => {
    const r = await admin('/v1/policies', 'adm_demo_acme', { method: 'POST', body: JSON.stringify({ id: 'no-mallory', tenant: 'acme', api: 'orders', effect: 'deny', subjects: { consumers: ['acme-web'] }, conditions: [{ claim: 'sub', equals: ['mallory'] }] }) });
    assert.equal(r.status, 201, r.text);
    const as = (sub: string) => call(`${gw}/api/orders`, { headers: { authorization: `Bearer ${token('--sub', sub, '--scope', 'orders:read')}` } });
    const m = await as('mallory');
    assertProblem(m, 403, 'permission_denied');
    assert.equal((await as('alice')).status, 200);
  });
});

test('who-can on the demo says no for the suspended consumer, naming account_suspended, and yes for the writer', () => {
  const r = runCli(['who-can', '--api', 'orders', '--method', 'POST', '--data-dir', dataDir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\n\s+no\s+acme-suspended\s+account_suspended \(consumer suspended/);
  assert.match(r.stdout, /\n\s+yes\s+acme-writer\s/);
});
