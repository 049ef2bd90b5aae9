import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { demoKeys } from '../../src/demo/demo-keys.ts';
import { demoTenancyKeys, demoTenancySections } from '../../src/demo/demo-tenancy.ts';
import { call } from '../support/harness.ts';
import { demoToken, startDemoGateway, type DemoUnderTest } from './support.ts';

// Gateway tenant isolation by every route of the demo config: each route and method, called
// with a credential of each tenant (acme's key and its demo-issuer JWT, globex's key). On a
// route of a tenant's API, the other tenant's credential is refused 403 with one of the
// documented codes (DEMO.md: subscription_required or tenant_mismatch), never 2xx, and the
// upstream never receives it. The routes are read from the running config, so a route added
// to the demo later is covered without editing this file.

const TENANCY_REFUSALS = ['subscription_required', 'tenant_mismatch'];

interface Credential { readonly name: string; readonly tenant: string; readonly kind: 'apiKey' | 'jwt'; headers(): Promise<Record<string, string>> }
const credentials: Credential[] = [
  { name: 'acme key pk_demo_writer', tenant: 'acme', kind: 'apiKey', headers: async () => ({ 'x-api-key': demoKeys.writer }) },
  // Every subject of the demo issuer acts through consumer acme-web (tenant acme).
  { name: 'acme JWT (demo issuer, sub alice)', tenant: 'acme', kind: 'jwt', headers: async () => ({ authorization: `Bearer ${await demoToken({ scope: 'orders:read orders:write inventory:read' })}` }) },
  { name: 'globex key pk_globex_reader', tenant: 'globex', kind: 'apiKey', headers: async () => ({ 'x-api-key': demoTenancyKeys.globexReader }) },
];

/** The API tenant of each route, from the demo's tenancy sections (the seed of the state store). */
const routeTenant = new Map(demoTenancySections().apis.flatMap((api) => api.routes.map((r) => [r, api.tenant] as const)));

let demo: DemoUnderTest;
before(async () => {
  // The only change to the demo config: /api/internal/report also admits loopback, so that its
  // IP check (which runs before authentication) does not hide what tenancy decides behind it.
  demo = await startDemoGateway((y) => y.replace(/ipAllow:\n(\s+)- 10\.0\.0\.0\/8/, (_m, ind: string) => `ipAllow:\n${ind}- 10.0.0.0/8\n${ind}- 127.0.0.1/32`));
});
after(async () => { await demo.close(); });

const bodyFor = (path: string) => path.startsWith('/v1/') || path.startsWith('/apis/')
  ? JSON.stringify({ model: 'demo-echo', messages: [{ role: 'user', content: 'hello there' }], input: 'hello', text: 'hello' })
  : JSON.stringify({ item: 'book', text: 'a kind comment' });

test('every route of the demo config refuses the other tenant\'s key or token with 403 and a tenancy code, and never forwards it', async () => {
  const config = demo.t.gateway.current();
  assert.match(JSON.stringify(config.raw.routes), /127\.0\.0\.1\/32/, 'the test config widened the IP allow-list of the internal report');
  const failures: string[] = [];
  const counts = { calls: 0, crossTenant: 0, ownTenant: 0, untenanted: 0, noAuth: 0, kindNotAccepted: 0 };
  const untenanted = new Set<string>();
  for (const route of config.raw.routes as { id: string; path: string; methods: string[]; auth?: string[] }[]) {
    const owner = routeTenant.get(route.id) ?? null;
    const path = route.path.replace(/\{[^}]+\}/g, '1001');
    // Session routes (/web/...) take a cookie, not a key or token: for a credential they are public.
    const needsAuth = (route.auth?.length ?? 0) > 0;
    for (const method of route.methods) {
      const withBody = !['GET', 'DELETE', 'HEAD'].includes(method);
      for (const cred of credentials) {
        counts.calls++;
        const probe = randomUUID();
        const a = await call(`${demo.t.url}${path}?probe=${probe}`, {
          method, headers: { ...(await cred.headers()), ...(withBody ? { 'content-type': 'application/json' } : {}) }, ...(withBody ? { body: bodyFor(path) } : {}),
        });
        const where = `${method} ${path} (route ${route.id}, API tenant ${owner ?? 'none'}) with ${cred.name}`;
        const code = typeof a.json.code === 'string' ? a.json.code : null;
        if (!needsAuth) {
          // A route without key/JWT authentication reads no such credential: nobody's identity is on it.
          counts.noAuth++;
          if (code !== null && TENANCY_REFUSALS.includes(code)) failures.push(`${where}: a public route refused by tenancy: ${a.status} ${code}`);
          continue;
        }
        if (!route.auth!.includes(cred.kind)) {
          // The route does not read this kind of credential at all: 401, whoever's it is.
          counts.kindNotAccepted++;
          if (a.status !== 401 || code !== 'credential_missing') failures.push(`${where}: a route without ${cred.kind} auth must answer 401 credential_missing, got ${a.status} ${a.text.slice(0, 200)}`);
          if (demo.upstream.seen.some((s) => s.url.includes(probe))) failures.push(`${where}: forwarded without an accepted credential`);
          continue;
        }
        if (owner === null) {
          counts.untenanted++;
          untenanted.add(route.id);
          if (code !== null && TENANCY_REFUSALS.includes(code)) failures.push(`${where}: a route in no API refused by tenancy: ${a.status} ${code}`);
          continue;
        }
        if (owner !== cred.tenant) {
          counts.crossTenant++;
          if (a.status !== 403 || code === null || !TENANCY_REFUSALS.includes(code)) failures.push(`${where}: expected 403 ${TENANCY_REFUSALS.join(' or ')}, got ${a.status} ${a.text.slice(0, 200)}`);
          if (demo.upstream.seen.some((s) => s.url.includes(probe))) failures.push(`${where}: the upstream received the other tenant's request`);
        } else {
          counts.ownTenant++;
          if (code !== null && TENANCY_REFUSALS.includes(code)) failures.push(`${where}: the owner tenant's credential was refused by tenancy: ${a.status} ${code}`);
        }
      }
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${counts.calls} calls failed`);
  // The matrix is real: every API route was crossed by both tenants.
  const apiRoutes = config.raw.routes.filter((r: { id: string }) => routeTenant.has(r.id));
  assert.ok(apiRoutes.length >= 7, `routes in APIs: ${apiRoutes.length}`);
  assert.ok(counts.crossTenant >= 9, `cross-tenant calls: ${JSON.stringify(counts)}`);
  // Routes in no API belong to no tenant: any tenant's valid credential may call them (documented in docs/hardening.md).
  assert.deepEqual([...untenanted].sort(), ['ai-chat', 'ai-embeddings', 'ai-model', 'ai-models', 'ai-reverse', 'comments', 'playground'].sort(), 'the routes in no API are the ones docs/hardening.md lists');
});

test('a key of the other tenant is refused on its own whatever else the request carries: no scope, header or path trick lets it through', async () => {
  const cases: { path: string; headers: Record<string, string> }[] = [
    { path: '/api/orders', headers: { 'x-api-key': demoTenancyKeys.globexReader, 'x-tenant': 'acme', 'x-pinpoint-tenant': 'acme' } },
    { path: '/API/orders', headers: { 'x-api-key': demoTenancyKeys.globexReader } },
    { path: '/api//orders', headers: { 'x-api-key': demoTenancyKeys.globexReader } },
    { path: '/api/orders/', headers: { 'x-api-key': demoTenancyKeys.globexReader } },
    { path: '/api/%6frders', headers: { 'x-api-key': demoTenancyKeys.globexReader } },
    { path: '/globex/inventory', headers: { 'x-api-key': demoKeys.writer, 'x-tenant': 'globex' } },
    { path: '/globex/./inventory', headers: { 'x-api-key': demoKeys.writer } },
    { path: '/globex/inventory', headers: { authorization: `Bearer ${await demoToken({ scope: 'inventory:read', tid: 'globex', tenant: 'globex' })}` } },
  ];
  for (const c of cases) {
    const probe = randomUUID();
    const a = await call(`${demo.t.url}${c.path}?probe=${probe}`, { headers: c.headers });
    assert.ok(a.status >= 400 && a.status < 500, `${c.path} ${JSON.stringify(c.headers).slice(0, 120)}: refused, got ${a.status} ${a.text.slice(0, 200)}`);
    assert.ok(!demo.upstream.seen.some((s) => s.url.includes(probe)), `${c.path}: never forwarded`);
  }
});
