import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.ts';
import { hashApiKey } from '../../src/credentials/directory.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { call, keyEntry, startTestGateway, type Answer, type TestGateway } from '../support/harness.ts';
import { startTenancyEnv, tokens as tenancyTokens } from './support.ts';

// AI usage and cost on the admin API: real chat calls by two tenants' apps through the
// gateway (the built-in demo-echo provider: one token per word), then GET /v1/usage with
// each admin role over real HTTP.

const tok = (id: string, plain: string, role: string, tenant?: string) => ({ id, hash: `sha256:${hashApiKey(plain)}`, role, ...(tenant ? { tenant } : {}) });
const T = { operator: 'adm_u_operator', acme: 'adm_u_acme', globex: 'adm_u_globex', auditor: 'adm_u_auditor' } as const;
const aiAuth = ['apiKey'];

let gw: TestGateway;
let admin: AdminServer;

const chat = (key: string, text: string) => call(`${gw.url}/v1/chat/completions`, {
  method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: text }] }),
});
const usage = (token: string | null, query = '') => call(`${admin.url}/v1/usage${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
interface Line { group: Record<string, string | null>; requests: number; promptTokens: number; completionTokens: number; totalTokens: number; costNanoUsd: number }
interface Report { tenant: string | null; items: Line[]; total: Omit<Line, 'group'> }
const body = (a: Answer) => JSON.parse(a.text) as Report;

before(async () => {
  gw = await startTestGateway({
    tenants: [{ id: 'acme' }, { id: 'globex' }],
    consumers: [
      { id: 'acme-app', tenant: 'acme', keys: [keyEntry('pk_u_acme', 'key_acme')] },
      { id: 'globex-app', tenant: 'globex', keys: [keyEntry('pk_u_globex', 'key_globex')] },
    ],
    routes: [{ id: 'ai-chat', path: '/v1/chat/completions', methods: ['POST'], upstream: 'ai', auth: aiAuth }],
    ai: {
      providers: { demo: { type: 'demo-echo' } },
      models: { echo: { provider: 'demo' } },
      prices: { echo: { inputPerMillion: 1, outputPerMillion: 2 } },
      access: [{ tenant: 'acme', models: ['*'] }, { tenant: 'globex', models: ['*'] }],
    },
    admin: { tokens: [tok('op', T.operator, 'operator'), tok('acme-admin', T.acme, 'tenant-admin', 'acme'), tok('globex-admin', T.globex, 'tenant-admin', 'globex'), tok('audit', T.auditor, 'auditor')] },
  });
  admin = await startAdminServer({ gateway: gw.gateway, databaseFile: gw.databaseFile, tokens: gw.gateway.current().raw.admin!.tokens, port: 0, logger: silentLogger });
  // acme: 2 calls of 3 words (3 prompt + 3 completion tokens each); globex: 1 call of 5 words.
  for (const [key, text] of [['pk_u_acme', 'one two three'], ['pk_u_acme', 'four five six'], ['pk_u_globex', 'a b c d e']] as const) {
    const a = await chat(key, text);
    assert.equal(a.status, 200, a.text);
  }
  // Usage rows are written in batches off the request path: wait until all three are in.
  const deadline = Date.now() + 5000;
  while (body(await usage(T.operator, '?by=tenant')).total.requests < 3) {
    assert.ok(Date.now() < deadline, 'the three calls reach the usage table');
    await new Promise((r) => setTimeout(r, 50));
  }
});
after(async () => { await admin.close(); await gw.close(); });

test('an operator sees every tenant\'s tokens and exact cost', async () => {
  const r = body(await usage(T.operator, '?by=tenant'));
  const acme = r.items.find((l) => l.group.tenant === 'acme')!;
  const globex = r.items.find((l) => l.group.tenant === 'globex')!;
  assert.deepEqual([acme.requests, acme.promptTokens, acme.completionTokens, acme.costNanoUsd], [2, 6, 6, 6 * 1000 + 6 * 2000]);
  assert.deepEqual([globex.requests, globex.promptTokens, globex.completionTokens, globex.costNanoUsd], [1, 5, 5, 5 * 1000 + 5 * 2000]);
  assert.equal(r.total.totalTokens, 22);
});

test('a tenant admin sees only its own tenant, whatever it asks for', async () => {
  const r = body(await usage(T.acme, '?by=tenant,consumer'));
  assert.equal(r.tenant, 'acme');
  assert.deepEqual(r.items.map((l) => l.group.tenant), ['acme']);
  assert.equal(r.total.requests, 2);
  const g = body(await usage(T.globex, '?by=consumer,model'));
  assert.deepEqual(g.items.map((l) => [l.group.consumer, l.group.model, l.totalTokens]), [['globex-app', 'echo', 10]]);
  const other = await usage(T.acme, '?tenant=globex');
  assert.equal(other.status, 404);
  assert.equal(JSON.parse(other.text).code, 'admin_not_found');
});

test('an auditor reads usage; no token or a bad dimension gets a problem+json refusal', async () => {
  assert.equal(body(await usage(T.auditor, '?by=model&period=all')).total.requests, 3);
  const anon = await usage(null);
  assert.equal(anon.status, 401);
  assert.equal(JSON.parse(anon.text).code, 'admin_unauthenticated');
  const bad = await usage(T.operator, '?by=colour');
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.text).code, 'admin_invalid_request');
  assert.match(JSON.parse(bad.text).detail, /"colour" is not one of tenant, consumer, key, model, provider, day/);
  const badTime = await usage(T.operator, '?since=yesterday');
  assert.equal(badTime.status, 400);
  assert.equal(body(await usage(T.operator, `?since=${new Date(Date.now() + 3_600_000).toISOString()}&until=${new Date(Date.now() + 7_200_000).toISOString()}`)).total.requests, 0, 'a range without calls sums to zero');
});

test('the OpenAPI document describes GET /v1/usage and the real answer matches it', async () => {
  const doc = await (await fetch(`${admin.url}/openapi.json`)).json() as { paths: Record<string, Record<string, { parameters?: { name: string }[]; responses: Record<string, { content: Record<string, { schema: object }> }> }>> };
  const op = doc.paths['/v1/usage']?.get;
  assert.ok(op, 'GET /v1/usage is in the document');
  assert.deepEqual(op.parameters?.map((p) => p.name), ['by', 'period', 'since', 'until', 'tenant', 'consumer', 'model']);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(op.responses['200']!.content['application/json']!.schema);
  const answer = JSON.parse((await usage(T.acme, '?by=tenant,consumer,key,model,provider,day')).text) as unknown;
  assert.ok(validate(answer), ajv.errorsText(validate.errors));
});

test('the usage answer names the live AI routes and models, and both are empty on a gateway without an ai section', async () => {
  const a = JSON.parse((await usage(T.operator)).text) as { aiRoutes: string[]; models: string[] };
  assert.deepEqual([a.aiRoutes, a.models], [['ai-chat'], ['echo']]);
  const env = await startTenancyEnv();
  try {
    const none = await env.adm('GET', '/v1/usage', tenancyTokens.operator);
    assert.equal(none.status, 200);
    assert.deepEqual([none.json.aiRoutes, none.json.models, none.json.items], [[], [], []]);
  } finally {
    await env.close();
  }
});
