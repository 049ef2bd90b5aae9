import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminRouteTable, startAdminServer, type AdminServer } from '../../src/admin/server.ts';
import { demoKeys } from '../../src/demo/demo-keys.ts';
import { demoAdminTokens, demoTenancyKeys } from '../../src/demo/demo-tenancy.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { VaultAttachment } from '../../src/vault/vault-attachment.ts';
import { app, settingsFor, startTestVault, TENANT, type TestVault } from '../vault/support.ts';
import { call, type Answer } from '../support/harness.ts';
import { startDemoGateway, type DemoUnderTest } from './support.ts';

// Tenant isolation by every admin route: the demo's acme tenant admin (adm_demo_acme) is
// aimed at everything of globex the admin API could reach — by id in the path, by a field of
// the body, by a query filter — and every answer it gets is either a refusal or holds no
// globex id, name or key prefix. The expectations are keyed by adminRouteTable(), so a route
// added later without an isolation expectation fails this test. The auditor is refused every
// write. Everything runs over real HTTP against the demo config.

const acme = demoAdminTokens.acme;
const auditor = demoAdminTokens.auditor;
const operator = demoAdminTokens.operator;

/**
 * Every way a globex entity can be named: its tenant, consumer, key (id and the key's public
 * prefix), API, policy, resource owner and their display names. An answer to acme containing
 * one of them leaks. Not counted: the path and route id of a request acme's own app sent to
 * `/globex/inventory` (route `globex-inventory`), which are acme's caller's own data.
 */
const GLOBEX_MARKERS: readonly RegExp[] = [/(?<![\w/-])globex(?![\w-])/i, /(?<![\w/-])inventory(?![\w-])/i, /globex-reader/i, /key_globex/i, /pk_globe/i, /inventory-readers/i, /globex-vault/i, /inventory-db/i];

/** Ids made during setup (a globex resource owner, logged request ids). */
const made = { globexRequest: '', globexOnAcmeRequest: '', acmeOnGlobexRequest: '', acmeRequest: '' };

type Expect = { status: number; code?: string } | 'clean';
interface Probe { readonly method: string; readonly path: string | (() => string); readonly body?: unknown; readonly expect: Expect }
interface Expectation {
  /** adm_demo_acme aimed at globex. */
  readonly acme: readonly Probe[];
  /** The auditor aimed at a write it would otherwise be allowed to attempt (every non-GET route). */
  readonly auditor?: Probe;
}

const clean = (path: string | (() => string)): Probe => ({ method: 'GET', path, expect: 'clean' });
const refused = (method: string, path: string | (() => string), status: number, code: string, body?: unknown): Probe => ({ method, path, body, expect: { status, code } });
const notFound = (method: string, path: string, body?: unknown) => refused(method, path, 404, 'admin_not_found', body);
const forbidden = (method: string, path: string, body?: unknown) => refused(method, path, 403, 'admin_forbidden', body);
const invalid = (method: string, path: string, body?: unknown) => refused(method, path, 400, 'admin_invalid_request', body);
const auditorWrite = (method: string, path: string, body?: unknown): Probe => forbidden(method, path, body);

const acmePolicy = { id: 'acme-new-policy', tenant: 'acme', api: 'orders', subjects: { consumers: ['acme-reader'] } };

/** Per route (method + template): what acme's probes at globex must get, and the auditor's write. */
const expectations: Record<string, Expectation> = {
  'GET /v1/tenants': { acme: [clean('/v1/tenants'), clean('/v1/tenants?tenant=globex')] },
  'POST /v1/tenants': { acme: [forbidden('POST', '/v1/tenants', { id: 'globex2' })], auditor: auditorWrite('POST', '/v1/tenants', { id: 'initech' }) },
  'GET /v1/tenants/{id}': { acme: [notFound('GET', '/v1/tenants/globex')] },
  'PATCH /v1/tenants/{id}': { acme: [forbidden('PATCH', '/v1/tenants/globex', { name: 'pwned' })], auditor: auditorWrite('PATCH', '/v1/tenants/acme', { name: 'x' }) },
  'DELETE /v1/tenants/{id}': { acme: [forbidden('DELETE', '/v1/tenants/globex')], auditor: auditorWrite('DELETE', '/v1/tenants/acme') },

  'GET /v1/consumers': { acme: [clean('/v1/consumers'), clean('/v1/consumers?tenant=globex')] },
  'POST /v1/consumers': { acme: [forbidden('POST', '/v1/consumers', { id: 'spy', tenant: 'globex' })], auditor: auditorWrite('POST', '/v1/consumers', { id: 'acme-x', tenant: 'acme' }) },
  'GET /v1/consumers/{id}': { acme: [notFound('GET', '/v1/consumers/globex-reader')] },
  'PATCH /v1/consumers/{id}': {
    acme: [notFound('PATCH', '/v1/consumers/globex-reader', { name: 'pwned' }), forbidden('PATCH', '/v1/consumers/acme-reader', { tenant: 'globex' })],
    auditor: auditorWrite('PATCH', '/v1/consumers/acme-reader', { name: 'x' }),
  },
  'DELETE /v1/consumers/{id}': { acme: [notFound('DELETE', '/v1/consumers/globex-reader')], auditor: auditorWrite('DELETE', '/v1/consumers/acme-reader') },
  'GET /v1/consumers/{id}/keys': { acme: [notFound('GET', '/v1/consumers/globex-reader/keys')] },
  'POST /v1/consumers/{id}/keys': { acme: [notFound('POST', '/v1/consumers/globex-reader/keys', {})], auditor: auditorWrite('POST', '/v1/consumers/acme-reader/keys', {}) },
  'GET /v1/keys/{id}': { acme: [notFound('GET', '/v1/keys/key_globex_reader')] },
  'POST /v1/keys/{id}/rotate': { acme: [notFound('POST', '/v1/keys/key_globex_reader/rotate', {})], auditor: auditorWrite('POST', '/v1/keys/key_demo_reader/rotate', {}) },
  'POST /v1/keys/{id}/revoke': { acme: [notFound('POST', '/v1/keys/key_globex_reader/revoke', { reason: 'x' })], auditor: auditorWrite('POST', '/v1/keys/key_demo_reader/revoke', { reason: 'x' }) },
  'DELETE /v1/keys/{id}': { acme: [notFound('DELETE', '/v1/keys/key_globex_reader')], auditor: auditorWrite('DELETE', '/v1/keys/key_demo_reader') },

  'GET /v1/apis': { acme: [clean('/v1/apis'), clean('/v1/apis?tenant=globex')] },
  'POST /v1/apis': {
    acme: [
      forbidden('POST', '/v1/apis', { id: 'inventory2', tenant: 'globex', name: 'x', version: '1', routes: [] }),
      // Claiming globex's route: refused without naming the API that holds it.
      refused('POST', '/v1/apis', 409, 'admin_conflict', { id: 'steal', tenant: 'acme', name: 'x', version: '1', routes: ['globex-inventory'] }),
    ],
    auditor: auditorWrite('POST', '/v1/apis', { id: 'widgets', tenant: 'acme', name: 'x', version: '1', routes: ['playground'] }),
  },
  'GET /v1/apis/{id}': { acme: [notFound('GET', '/v1/apis/inventory')] },
  'PATCH /v1/apis/{id}': {
    acme: [notFound('PATCH', '/v1/apis/inventory', { name: 'pwned' }), refused('PATCH', '/v1/apis/orders', 409, 'admin_conflict', { routes: ['orders', 'globex-inventory'] })],
    auditor: auditorWrite('PATCH', '/v1/apis/orders', { name: 'x' }),
  },
  'DELETE /v1/apis/{id}': { acme: [notFound('DELETE', '/v1/apis/inventory')], auditor: auditorWrite('DELETE', '/v1/apis/orders') },

  'GET /v1/policies': { acme: [clean('/v1/policies'), clean('/v1/policies?tenant=globex')] },
  'POST /v1/policies': {
    acme: [
      invalid('POST', '/v1/policies', { id: 'grab', tenant: 'acme', api: 'inventory', subjects: { consumers: ['acme-writer'] } }),
      forbidden('POST', '/v1/policies', { id: 'grab', tenant: 'globex', api: 'inventory', subjects: { consumers: ['acme-writer'] } }),
      // Ids are one namespace: a taken id is a conflict, without saying whose.
      refused('POST', '/v1/policies', 409, 'admin_conflict', { id: 'inventory-readers', tenant: 'acme', api: 'orders', subjects: { consumers: ['acme-writer'] } }),
    ],
    auditor: auditorWrite('POST', '/v1/policies', acmePolicy),
  },
  'GET /v1/policies/{id}': { acme: [notFound('GET', '/v1/policies/inventory-readers')] },
  'PATCH /v1/policies/{id}': {
    acme: [notFound('PATCH', '/v1/policies/inventory-readers', { subjects: { consumers: ['acme-writer'] } }), invalid('PATCH', '/v1/policies/orders-reporting', { api: 'inventory' })],
    auditor: auditorWrite('PATCH', '/v1/policies/orders-reporting', { description: 'x' }),
  },
  'DELETE /v1/policies/{id}': { acme: [notFound('DELETE', '/v1/policies/inventory-readers')], auditor: auditorWrite('DELETE', '/v1/policies/orders-reporting') },

  'GET /v1/subscriptions': { acme: [clean('/v1/subscriptions'), clean('/v1/subscriptions?api=inventory'), clean('/v1/subscriptions?status=approved')] },
  'POST /v1/subscriptions': {
    acme: [invalid('POST', '/v1/subscriptions', { consumer: 'globex-reader', api: 'orders' }), invalid('POST', '/v1/subscriptions', { consumer: 'acme-writer', api: 'inventory' })],
    auditor: auditorWrite('POST', '/v1/subscriptions', { consumer: 'acme-reader', api: 'orders' }),
  },
  'GET /v1/subscriptions/{id}': { acme: [notFound('GET', '/v1/subscriptions/globex-reader.inventory')] },
  'POST /v1/subscriptions/{id}/approve': { acme: [notFound('POST', '/v1/subscriptions/globex-reader.inventory/approve', {})], auditor: auditorWrite('POST', '/v1/subscriptions/acme-newapp.orders/approve', {}) },
  'POST /v1/subscriptions/{id}/reject': { acme: [notFound('POST', '/v1/subscriptions/globex-reader.inventory/reject', {})], auditor: auditorWrite('POST', '/v1/subscriptions/acme-newapp.orders/reject', {}) },
  'POST /v1/subscriptions/{id}/revoke': { acme: [notFound('POST', '/v1/subscriptions/globex-reader.inventory/revoke', {})], auditor: auditorWrite('POST', '/v1/subscriptions/acme-reader.orders/revoke', {}) },

  'GET /v1/resource-owners': { acme: [clean('/v1/resource-owners'), clean('/v1/resource-owners?tenant=globex')] },
  'POST /v1/resource-owners': { acme: [forbidden('POST', '/v1/resource-owners', { id: 'inventory:2', tenant: 'globex', owner: 'globex-reader' })], auditor: auditorWrite('POST', '/v1/resource-owners', { id: 'orders:1002', tenant: 'acme', owner: 'acme-writer' }) },
  'GET /v1/resource-owners/{id}': { acme: [notFound('GET', '/v1/resource-owners/inventory:1')] },
  'PATCH /v1/resource-owners/{id}': { acme: [notFound('PATCH', '/v1/resource-owners/inventory:1', { owner: 'acme-writer' })], auditor: auditorWrite('PATCH', '/v1/resource-owners/orders:1001', { owner: 'acme-reader' }) },
  'DELETE /v1/resource-owners/{id}': { acme: [notFound('DELETE', '/v1/resource-owners/inventory:1')], auditor: auditorWrite('DELETE', '/v1/resource-owners/orders:1001') },

  'GET /v1/status': { acme: [clean('/v1/status')] },
  'GET /v1/audit': { acme: [clean('/v1/audit?limit=1000'), clean('/v1/audit?kind=consumer&id=globex-reader'), clean('/v1/audit?kind=tenant&id=globex'), clean('/v1/audit?kind=key')] },
  'GET /v1/logs': { acme: [clean('/v1/logs?limit=1000'), clean('/v1/logs?code=subscription_required'), clean('/v1/logs?code=tenant_mismatch')] },
  'GET /v1/explain/{requestId}': { acme: [refused('GET', () => `/v1/explain/${made.globexRequest}`, 404, 'admin_not_found'), clean(() => `/v1/explain/${made.acmeRequest}`),
    // A globex key refused on acme's API: the call is acme's, the caller's key, consumer and tenant are not.
    refused('GET', () => `/v1/explain/${made.globexOnAcmeRequest}`, 404, 'admin_not_found'),
    // acme's own key refused on globex's route: the evidence names globex's API and tenant, so
    // only an operator explains it (acme's log lists it, with its code tenant_mismatch).
    refused('GET', () => `/v1/explain/${made.acmeOnGlobexRequest}`, 404, 'admin_not_found'),
  ] },
  'POST /v1/dry-run': {
    acme: [
      invalid('POST', '/v1/dry-run', { changes: [{ op: 'delete', kind: 'policy', id: 'inventory-readers' }] }),
      refused('POST', '/v1/dry-run', 409, 'admin_conflict', { changes: [{ op: 'put', kind: 'policy', data: { id: 'inventory-readers', tenant: 'acme', api: 'orders', subjects: { consumers: ['acme-reader'] } } }] }),
      forbidden('POST', '/v1/dry-run', { changes: [{ op: 'put', kind: 'policy', data: { id: 'x', tenant: 'globex', api: 'inventory', subjects: { consumers: ['globex-reader'] } } }] }),
      // A legal change of acme's, re-deciding the log: flips must concern acme's traffic only.
      { method: 'POST', path: '/v1/dry-run', body: { changes: [{ op: 'delete', kind: 'policy', id: 'orders-apps' }], last: 10000 }, expect: 'clean' },
    ],
    auditor: auditorWrite('POST', '/v1/dry-run', { changes: [{ op: 'delete', kind: 'policy', id: 'orders-reporting' }] }),
  },
  'GET /v1/alerts': { acme: [forbidden('GET', '/v1/alerts')] },
  'GET /v1/stats/series': { acme: ['reason', 'route', 'consumer', 'tenant', 'clientIp', 'status', 'credential'].map((by) => clean(`/v1/stats/series?by=${by}&from=0`)).concat([clean('/v1/stats/series?route=globex-inventory&by=consumer&from=0')]) },
  'GET /v1/stats/top': { acme: ['consumer', 'clientIp', 'credential', 'route', 'tenant'].map((by) => clean(`/v1/stats/top?by=${by}&from=0`)).concat([clean('/v1/stats/top?route=globex-inventory&by=consumer&from=0')]) },
  'GET /v1/stats/changes': { acme: [clean('/v1/stats/changes?from=0&minRefusals=1&factor=1'), clean('/v1/stats/changes?route=globex-inventory&from=0&minRefusals=1&factor=1')] },
  'GET /v1/access-review': { acme: [clean('/v1/access-review?unusedDays=0&expiringDays=3650')] },
  'GET /v1/usage': { acme: [clean('/v1/usage?period=all&by=tenant,consumer,key,model'), notFound('GET', '/v1/usage?tenant=globex'), clean('/v1/usage?period=all&consumer=globex-reader&by=consumer')] },
  // Vaults: acme's admin reads only vaults whose adminTenant is acme (the test attaches three).
  'GET /v1/vaults': { acme: [clean('/v1/vaults')] },
  'GET /v1/vaults/{name}': { acme: [notFound('GET', '/v1/vaults/globex-vault'), notFound('GET', '/v1/vaults/globex-vault?audit=500'), notFound('GET', '/v1/vaults/shared-vault'), clean('/v1/vaults/acme-vault?audit=500')] },
  'GET /v1/reasons': { acme: [clean('/v1/reasons')] },
  'GET /v1/catalogue': { acme: [clean('/v1/catalogue')] },
  'GET /v1/catalogue/{id}': { acme: [notFound('GET', '/v1/catalogue/inventory'), clean('/v1/catalogue/orders')] },
  'GET /v1/catalogue/{id}/openapi.json': { acme: [notFound('GET', '/v1/catalogue/inventory/openapi.json'), clean('/v1/catalogue/orders/openapi.json')] },
};

let demo: DemoUnderTest;
let admin: AdminServer;
let vault: TestVault;
const adm = (token: string, method: string, path: string, body?: unknown): Promise<Answer> => call(`${admin.url}${path}`, {
  method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const gw = (path: string, key: string, init: RequestInit = {}) => call(`${demo.t.url}${path}`, { ...init, headers: { 'x-api-key': key, ...(init.headers as Record<string, string> | undefined) } });

before(async () => {
  demo = await startDemoGateway();
  // A vault per admin tenant and one of nobody's, with a secret each, attached to the admin API.
  const vaultApp = app('iso-app');
  vault = await startTestVault(settingsFor([vaultApp], ['acme-vault', 'globex-vault', 'shared-vault'].map((name) => ({
    name, tenant: TENANT, ...(name === 'shared-vault' ? {} : { adminTenant: name.split('-')[0] }), accessPolicies: [{ objectId: vaultApp.objectId, secrets: ['get'] }],
  }))));
  const attrs = { enabled: true, nbf: null, exp: null, contentType: null, tags: null };
  vault.vault.store.setSecret('globex-vault', 'inventory-db-password', 'a'.repeat(32), 'globex only', attrs, Math.floor(Date.now() / 1000));
  vault.vault.store.setSecret('acme-vault', 'orders-db-password', 'b'.repeat(32), 'acme only', attrs, Math.floor(Date.now() / 1000));
  const vaults = new VaultAttachment();
  vaults.attach({ settings: vault.vault.current, store: vault.vault.store, audit: vault.vault.audit });
  admin = await startAdminServer({ gateway: demo.t.gateway, databaseFile: demo.t.databaseFile, tokens: demo.t.gateway.current().raw.admin!.tokens, port: 0, logger: silentLogger, vaults });
  const listed = await adm(operator, 'GET', '/v1/vaults');
  assert.equal((listed.json.items as unknown[]).length, 3, 'the operator sees the three vaults');
  // A globex resource owner, so that every kind of entity exists on the globex side.
  assert.equal((await adm(operator, 'POST', '/v1/resource-owners', { id: 'inventory:1', tenant: 'globex', owner: 'globex-reader' })).status, 201);
  // Traffic of both tenants, also across: the log, stats, usage and explain have globex in them.
  const g = await gw('/globex/inventory', demoTenancyKeys.globexReader);
  assert.equal(g.status, 200, g.text);
  made.globexRequest = g.headers.get('x-request-id')!;
  const cross = await gw('/api/orders', demoTenancyKeys.globexReader);
  assert.equal(cross.status, 403, cross.text);
  made.globexOnAcmeRequest = cross.headers.get('x-request-id')!;
  const acmeOnGlobex = await gw('/globex/inventory', demoKeys.writer);
  assert.equal(acmeOnGlobex.status, 403);
  made.acmeOnGlobexRequest = acmeOnGlobex.headers.get('x-request-id')!;
  const a = await gw('/api/orders', demoKeys.writer);
  assert.equal(a.status, 200);
  made.acmeRequest = a.headers.get('x-request-id')!;
  for (let i = 0; i < 3; i++) await gw('/globex/inventory', demoTenancyKeys.globexReader);
  await demo.t.gateway.writer.flush();
});
after(async () => { await admin.close(); await demo.close(); await vault.close(); });

const keyOf = (method: string, path: string) => `${method} ${path}`;

test('every admin route has an isolation expectation, and every write route an auditor probe', () => {
  const table = adminRouteTable();
  const missing = table.filter((r) => !expectations[keyOf(r.method, r.path)]).map((r) => keyOf(r.method, r.path));
  assert.deepEqual(missing, [], 'add an isolation expectation for these admin routes (test/hardening/admin-isolation.test.ts)');
  const stale = Object.keys(expectations).filter((k) => !table.some((r) => keyOf(r.method, r.path) === k));
  assert.deepEqual(stale, [], 'expectations for routes that no longer exist');
  const writesWithoutAuditor = table.filter((r) => r.method !== 'GET' && !expectations[keyOf(r.method, r.path)]!.auditor).map((r) => keyOf(r.method, r.path));
  assert.deepEqual(writesWithoutAuditor, [], 'every write route needs an auditor probe');
  assert.ok(table.length >= 50, `the table is the real one: ${table.length} routes`);
});

function leaks(text: string, except: readonly string[] = []): string[] {
  // A refusal may repeat the name the probe itself sent (in its path or body).
  const sent = except.join(' ').toLowerCase();
  return GLOBEX_MARKERS.flatMap((m) => [...text.matchAll(new RegExp(m.source, 'gi'))].map((x) => x[0]).filter((x) => !sent.includes(x.toLowerCase())).slice(0, 1));
}

const globexEntities = ['/v1/tenants/globex', '/v1/consumers/globex-reader', '/v1/keys/key_globex_reader', '/v1/apis/inventory', '/v1/policies/inventory-readers', '/v1/subscriptions/globex-reader.inventory', '/v1/resource-owners/inventory:1'];
const globexVersions = async () => Promise.all(globexEntities.map(async (path) => {
  const a = await adm(operator, 'GET', path);
  assert.equal(a.status, 200, path);
  return `${path} v${(a.json.item as { version: number }).version}`;
}));

test('the acme tenant admin aimed at globex by every admin route is refused or sees nothing of globex', async () => {
  const before = (await adm(operator, 'GET', '/v1/status')).json.stateVersion;
  const versions = await globexVersions();
  const failures: string[] = [];
  let probes = 0;
  for (const r of adminRouteTable()) {
    for (const p of expectations[keyOf(r.method, r.path)]!.acme) {
      probes++;
      const path = typeof p.path === 'function' ? p.path() : p.path;
      const a = await adm(acme, p.method, path, p.body);
      const where = `${p.method} ${path}${p.body === undefined ? '' : ' ' + JSON.stringify(p.body)}`;
      if (p.expect === 'clean') {
        if (a.status !== 200) failures.push(`${where}: expected 200, got ${a.status} ${a.text.slice(0, 300)}`);
      } else if (a.status !== p.expect.status || a.json.code !== p.expect.code) {
        failures.push(`${where}: expected ${p.expect.status} ${p.expect.code}, got ${a.status} ${a.text.slice(0, 300)}`);
      }
      // Refusals too: a detail naming the globex entity that blocked the write is a leak.
      const found = leaks(a.text, p.expect === 'clean' ? [] : [path, JSON.stringify(p.body ?? '')]);
      if (found.length) failures.push(`${where}: the answer names ${found.join(', ')}: ${a.text.slice(0, 600)}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${probes} probes failed`);
  assert.equal((await adm(operator, 'GET', '/v1/status')).json.stateVersion, before, 'no probe changed anything');
  // globex is untouched and its key still works.
  assert.deepEqual(await globexVersions(), versions, 'no globex entity changed');
  assert.equal((await gw('/globex/inventory', demoTenancyKeys.globexReader)).status, 200);
});

test('the acme tenant admin is refused the operator-only endpoints outside the route table', async () => {
  const m = await call(`${admin.url}/metrics`, { headers: { authorization: `Bearer ${acme}` } });
  assert.equal(m.status, 403, m.text);
  assert.deepEqual(leaks(m.text), []);
});

test('the auditor is refused every write of the admin API, and nothing changes', async () => {
  const before = (await adm(operator, 'GET', '/v1/status')).json.stateVersion;
  const failures: string[] = [];
  let writes = 0;
  for (const r of adminRouteTable().filter((x) => x.method !== 'GET')) {
    const p = expectations[keyOf(r.method, r.path)]!.auditor!;
    const path = typeof p.path === 'function' ? p.path() : p.path;
    writes++;
    const a = await adm(auditor, p.method, path, p.body);
    if (a.status !== 403 || a.json.code !== 'admin_forbidden') failures.push(`${p.method} ${path}: expected 403 admin_forbidden, got ${a.status} ${a.text.slice(0, 300)}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${writes} auditor writes were not refused`);
  assert.equal((await adm(operator, 'GET', '/v1/status')).json.stateVersion, before, 'no auditor call changed anything');
  const trail = await adm(operator, 'GET', '/v1/audit?limit=1000');
  assert.ok(!(trail.json.items as { actor: { role: string } }[]).some((e) => e.actor.role === 'auditor'), 'no change in the trail is the auditor\'s');
});

test('the acme tenant admin\'s vault views are not empty: acme-vault and its secret, nothing else', async () => {
  const list = await adm(acme, 'GET', '/v1/vaults');
  assert.deepEqual((list.json.items as { name: string }[]).map((v) => v.name), ['acme-vault']);
  const one = await adm(acme, 'GET', '/v1/vaults/acme-vault');
  assert.deepEqual((one.json.item as { secretList: { name: string }[] }).secretList.map((x) => x.name), ['orders-db-password']);
});

test('the acme tenant admin\'s log marks which calls it may explain, and each mark matches what explain answers', async () => {
  const items = (await adm(acme, 'GET', '/v1/logs?limit=1000')).json.items as { requestId: string; explainable: boolean }[];
  const mark = (id: string) => items.find((i) => i.requestId === id)?.explainable;
  assert.equal(mark(made.acmeRequest), true, 'its own call');
  assert.equal(mark(made.globexOnAcmeRequest), false, 'a globex caller on acme\'s API');
  assert.equal(mark(made.acmeOnGlobexRequest), false, 'its caller on globex\'s route');
  for (const i of items.slice(0, 40)) {
    const x = await adm(acme, 'GET', `/v1/explain/${i.requestId}`);
    assert.equal(x.status, i.explainable ? 200 : 404, `${i.requestId}: marked ${i.explainable}, explain answered ${x.status}`);
  }
});

test('"what changed" names the config file to the operator and not to a tenant admin', async () => {
  const q = '/v1/stats/changes?from=0&minRefusals=1&factor=1';
  type Jumps = { jumps: { configChange: { file: string } | null }[] };
  const files = ((await adm(operator, 'GET', q)).json as Jumps).jumps.map((j) => j.configChange?.file).filter((f): f is string => !!f && f.includes('/'));
  assert.ok(files.length > 0, 'the operator sees the config file of a change');
  const acmeText = (await adm(acme, 'GET', q)).text;
  for (const f of new Set(files)) assert.ok(!acmeText.includes(f), `acme's answer does not hold ${f}`);
});
