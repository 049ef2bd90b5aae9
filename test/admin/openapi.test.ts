import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { keys, startTenancyEnv, tokens, type TenancyEnv } from './support.ts';

// The OpenAPI document is checked against the admin API's real answers: every operation
// exercised here must answer a body its documented schema accepts, refusals included.

let env: TenancyEnv;
let doc: { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: object }> }> }>> };
const ajv = new Ajv2020({ strict: false, allErrors: true });

before(async () => {
  env = await startTenancyEnv();
  const a = await fetch(`${env.admin.url}/openapi.json`);
  assert.equal(a.status, 200);
  doc = await a.json() as typeof doc;
});
after(async () => { await env.close(); });

function check(method: string, template: string, status: number, body: unknown): void {
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `the document describes ${method} ${template}`);
  const documented = op.responses[String(status)] ?? op.responses.default!;
  const content = documented.content['application/json'] ?? documented.content['application/problem+json']!;
  const validate = ajv.compile(content.schema);
  assert.ok(validate(body), `${method} ${template} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`);
}

test('the document is OpenAPI 3.1 and served without credentials', () => {
  assert.equal((doc as unknown as { openapi: string }).openapi, '3.1.0');
  assert.ok(Object.keys(doc.paths).length >= 20);
});

test('real answers of every resource match the documented schemas', async () => {
  const calls: [string, string, string, string | null, unknown?][] = [
    ['GET', '/v1/status', '/v1/status', tokens.acme],
    ['GET', '/v1/tenants', '/v1/tenants', tokens.operator],
    ['GET', '/v1/tenants/acme', '/v1/tenants/{id}', tokens.acme],
    ['GET', '/v1/consumers', '/v1/consumers', tokens.acme],
    ['POST', '/v1/consumers', '/v1/consumers', tokens.acme, { id: 'oa-app', tenant: 'acme', name: 'OpenAPI app' }],
    ['PATCH', '/v1/consumers/oa-app', '/v1/consumers/{id}', tokens.acme, { status: 'suspended', suspendedReason: 'test' }],
    ['POST', '/v1/consumers/oa-app/keys', '/v1/consumers/{id}/keys', tokens.acme, { id: 'key_oa', scopes: ['shop:read'] }],
    ['GET', '/v1/consumers/oa-app/keys', '/v1/consumers/{id}/keys', tokens.acme],
    ['POST', '/v1/keys/key_oa/rotate', '/v1/keys/{id}/rotate', tokens.acme, { overlapSeconds: 60 }],
    ['POST', '/v1/keys/key_oa/revoke', '/v1/keys/{id}/revoke', tokens.acme, { reason: 'done' }],
    ['GET', '/v1/keys/key_oa', '/v1/keys/{id}', tokens.acme],
    ['GET', '/v1/apis', '/v1/apis', tokens.acme],
    ['GET', '/v1/apis/shop', '/v1/apis/{id}', tokens.acme],
    ['POST', '/v1/policies', '/v1/policies', tokens.acme, { id: 'oa-pol', tenant: 'acme', api: 'shop', subjects: { roles: ['x'] }, conditions: [{ timeWindow: { from: '08:00', to: '18:00', days: [1, 2, 3] } }] }],
    ['GET', '/v1/policies', '/v1/policies', tokens.acme],
    ['POST', '/v1/subscriptions', '/v1/subscriptions', tokens.acme, { consumer: 'oa-app', api: 'shop' }],
    ['POST', '/v1/subscriptions/oa-app.shop/approve', '/v1/subscriptions/{id}/approve', tokens.acme, {}],
    ['GET', '/v1/subscriptions', '/v1/subscriptions', tokens.acme],
    ['GET', '/v1/resource-owners', '/v1/resource-owners', tokens.acme],
    ['POST', '/v1/resource-owners', '/v1/resource-owners', tokens.acme, { id: 'items:9', tenant: 'acme', owner: 'oa-app' }],
    ['DELETE', '/v1/resource-owners/items:9', '/v1/resource-owners/{id}', tokens.acme],
    ['GET', '/v1/audit', '/v1/audit', tokens.auditor],
    ['GET', '/v1/logs', '/v1/logs', tokens.auditor],
    ['POST', '/v1/dry-run', '/v1/dry-run', tokens.acme, { changes: [{ op: 'delete', kind: 'policy', id: 'buyers' }], last: 50 }],
    ['DELETE', '/v1/consumers/oa-app', '/v1/consumers/{id}', tokens.acme],
    // No vault runs beside this admin listener: an empty list and a 404, both documented.
    ['GET', '/v1/vaults', '/v1/vaults', tokens.auditor],
    ['GET', '/v1/vaults/demo', '/v1/vaults/{name}', tokens.operator],
    // Refusals are documented too.
    ['GET', '/v1/consumers', '/v1/consumers', null],
    ['POST', '/v1/policies', '/v1/policies', tokens.acme, { id: 'x' }],
    ['GET', '/v1/consumers/globex-app', '/v1/consumers/{id}', tokens.acme],
  ];
  await env.get('/shop/items', keys.buyer);
  for (const [method, path, template, token, body] of calls) {
    const a = await env.adm(method, path, token, body);
    assert.ok(a.status < 500, `${method} ${path}: ${a.text}`);
    check(method, template, a.status, a.json);
  }
  const logs = await env.adm('GET', '/v1/logs', tokens.operator);
  const id = (logs.json.items as { requestId: string }[])[0]!.requestId;
  const x = await env.adm('GET', `/v1/explain/${id}`, tokens.operator);
  assert.equal(x.status, 200);
  check('GET', '/v1/explain/{requestId}', 200, x.json);
});

test('the document has no operation the server does not serve', async () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const concrete = path.replace(/\{[a-zA-Z]+\}/g, 'nonexistent');
      const a = await env.adm(method.toUpperCase(), concrete, tokens.operator, method === 'get' || method === 'delete' ? undefined : {});
      assert.notEqual(a.json.detail, `No admin endpoint ${method.toUpperCase()} ${concrete}; see /openapi.json.`, `${method} ${path} is routed`);
    }
  }
});
