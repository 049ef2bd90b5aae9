import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { mintDemoToken } from '../../src/cli/token.ts';
import { demoIssuer, demoIssuerPublicJwk } from '../../src/demo/demo-keys.ts';
import { checkRecord, traceOf } from '../support/assertions.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { aiConfig } from './support.ts';

// Apps may call the AI gateway with a JWT instead of a key: the bearer value is recognized as
// a JWT and verified by the JWT authenticator; its subject maps to an app for the allow-list.

let t: TestGateway;

before(async () => {
  const base = aiConfig({
    providers: { demo: { type: 'demo-echo' } },
    models: { 'demo-echo': { provider: 'demo' } },
    access: [{ consumer: 'jwt-app', models: ['demo-echo'] }],
  }) as { consumers: object[]; routes: { auth: string[] }[] };
  t = await startTestGateway({
    ...base,
    issuers: [{ issuer: demoIssuer.issuer, audiences: [demoIssuer.audience], algorithms: ['RS256'], jwks: { keys: [demoIssuerPublicJwk()] } }],
    consumers: [...base.consumers, { id: 'jwt-app', tenant: 'acme', jwtSubjects: ['alice'] }],
    routes: base.routes.map((r) => ({ ...r, auth: ['apiKey', 'jwt'] })),
  });
});
after(() => t.close());

const client = (token: string) => new OpenAI({ apiKey: token, baseURL: `${t.url}/v1`, maxRetries: 0 });

test('a JWT whose subject maps to an allowed app is served; the trace shows the JWT authenticated', async () => {
  const token = await mintDemoToken({ sub: 'alice' });
  const { data, response } = await client(token).chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: 'jwt works' }] }).withResponse();
  assert.equal(data.choices[0]!.message.content, 'skrow twj');
  const trace = await traceOf(t, { status: 200, headers: response.headers, text: '', json: {} });
  assert.equal(checkRecord(trace, 'api-key:bearer').outcome, 'skip');
  assert.equal(checkRecord(trace, 'jwt').outcome, 'continue');
  assert.equal(trace.identity?.consumerId, 'jwt-app');
});

test('a JWT for a subject without an app gets 403 model_not_allowed; an expired one 401 credential_expired', async () => {
  await assert.rejects(client(await mintDemoToken({ sub: 'mallory' })).chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: 'x' }] }),
    (e: unknown) => e instanceof OpenAI.PermissionDeniedError && e.code === 'model_not_allowed');
  await assert.rejects(client(await mintDemoToken({ sub: 'alice', ttl: -60 })).chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: 'x' }] }),
    (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'credential_expired');
});
