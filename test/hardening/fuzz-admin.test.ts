import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { adminRouteTable } from '../../src/admin/server.ts';
import { isReasonCode } from '../../src/reasons/catalogue.ts';
import { tokens } from '../admin/support.ts';
import { rawRequest, startSecurityEnv, type RawAnswer, type SecurityEnv } from '../admin/security-support.ts';
import { bounded } from './support.ts';

// Property-based fuzzing of the admin API's payloads over real HTTP: every POST, PUT and PATCH
// route of adminRouteTable() (so a route added later is fuzzed too), with bodies built from
// the schemas' field names, arbitrary JSON, bytes and content types. Whatever arrives, the
// answer is a success in JSON or a problem+json with a catalogue code, never a 5xx.

let env: SecurityEnv;
// A generous throttle: the fuzzer sends tokens of several roles, never wrong ones, but it must not trip anything.
before(async () => { env = await startSecurityEnv({ maxFailures: 1_000_000, windowSeconds: 60, globalMaxFailures: 1_000_000, maxTrackedClients: 100 }); });
after(async () => { await env.close(); });

// As "METHOD /path" strings, so that a counterexample prints the route and not its zod schemas.
const writeRoutes = adminRouteTable().filter((r) => r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH').map((r) => `${r.method} ${r.path}`);

const knownIds = ['acme', 'globex', 'acme-buyer', 'globex-app', 'key_buyer', 'key_globex', 'shop', 'stock', 'buyers', 'stock-readers', 'acme-pending.shop', 'acme-buyer.shop', 'items:7'];
const fieldNames = ['id', 'tenant', 'name', 'status', 'consumer', 'api', 'routes', 'subjects', 'consumers', 'roles', 'methods', 'effect', 'scopes', 'expiresAt',
  'reason', 'owner', 'keys', 'ownership', 'param', 'source', 'version', 'lifecycle', 'successor', 'sunset', 'change', 'kind', 'data', 'conditions', 'ipRanges', 'quota', 'description'];

const scalar = fc.oneof(fc.constantFrom(...knownIds), fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('', '__proto__', 'constructor', 'a'.repeat(5000), '2020-01-01T00:00:00Z', 'deny', 'allow', 'approved'));
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), { maxKeys: 4 }));
const shaped = fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 8 }).map((o) => JSON.stringify(o));
const body = fc.oneof(
  { weight: 6, arbitrary: shaped },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', '"x"', 'null', '{"__proto__":{"admin":true},"id":"p"}', '['.repeat(10000), `{"id":"${'x'.repeat(200_000)}"}`) },
);
const contentType = fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '', 'application/json, text/plain') });
// Path parameters: known ids, arbitrary text (percent-encoded), and raw bytes that are not valid percent-encoding.
const param = fc.oneof(fc.constantFrom(...knownIds), fc.string({ maxLength: 20 }).map(encodeURIComponent), fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '%2F', 'a%00b'));
const token = fc.constantFrom(tokens.operator, tokens.operator, tokens.acme, tokens.auditor);

function assertWellFormed(a: RawAnswer, context: string): void {
  assert.ok(a.status < 500, `${context}: no 5xx, got ${a.status} ${a.text.slice(0, 300)}`);
  if (a.status < 300) {
    assert.equal(a.headers['content-type'], 'application/json', `${context}: a success is JSON`);
    return;
  }
  assert.equal(a.headers['content-type'], 'application/problem+json', `${context}: a refusal is problem+json (${a.status})`);
  assert.ok(typeof a.json.code === 'string' && isReasonCode(a.json.code), `${context}: code ${String(a.json.code)} is in the catalogue`);
  assert.equal(a.json.status, a.status, `${context}: body status equals the HTTP status`);
  assert.equal(a.json.requestId, a.headers['x-request-id'], `${context}: the request id is in the body and the header`);
}

test(`arbitrary payloads on every POST/PUT/PATCH admin route (${writeRoutes.length} routes) get JSON or a coded problem, never a 5xx`, async () => {
  assert.ok(writeRoutes.length >= 15, 'the route table holds the write routes');
  const statuses = new Map<number, number>();
  const routesSeen = new Set<string>();
  await fc.assert(fc.asyncProperty(fc.constantFrom(...writeRoutes), fc.array(param, { minLength: 3, maxLength: 3 }), body, contentType, token, async (route, params, b, ct, tok) => {
    let i = 0;
    const [method, template] = route.split(' ') as [string, string];
    const path = template.replace(/\{[a-zA-Z]+\}/g, () => params[i++]!);
    const a = await rawRequest(env.admin.url, { method, path, token: tok, headers: ct === '' ? {} : { 'content-type': ct }, body: b });
    assertWellFormed(a, `${method} ${path} ${ct} ${JSON.stringify(b.slice(0, 120))}`);
    statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    routesSeen.add(route);
  }), bounded(400, 10));
  assert.ok(statuses.size >= 4, `the payloads reached several outcomes: ${JSON.stringify([...statuses])}`);
  assert.ok(routesSeen.size >= Math.min(writeRoutes.length, 10), `most routes were exercised: ${routesSeen.size}`);
  // The listener still serves after the run.
  assert.equal((await env.req({ path: '/v1/tenants', token: tokens.operator })).status, 200);
});

test('a path parameter that is not valid percent-encoding gets 400 admin_invalid_request on every route, not a 500', async () => {
  for (const r of adminRouteTable().filter((x) => x.path.includes('{'))) {
    const path = r.path.replace(/\{[a-zA-Z]+\}/g, '%E0%A4%A');
    const a = await env.req({ method: r.method, path, token: tokens.operator, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
    assert.equal(a.status, 400, `${r.method} ${path}: ${a.text}`);
    assert.equal(a.json.code, 'admin_invalid_request');
  }
});
