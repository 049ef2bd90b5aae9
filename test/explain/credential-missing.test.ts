import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoIssuer, demoIssuerPublicJwk } from '../../src/demo/demo-keys.ts';
import { assertProblem } from '../support/assertions.ts';
import { call, keyEntry, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { explainAnswer } from './support.ts';

// A 401 credential_missing is explained by what the route's authenticators read: the
// Authorization header only where a token authenticator runs, the API key header only where
// apiKey is in the route's auth list. The text must never name a scheme the route does not read.

// A syntactically plausible JWT: credential_missing is decided before any signature check.
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

let upstream: TestUpstream;
let t: TestGateway;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway({
    upstreams: { backend: { targets: [{ url: upstream.url }] } },
    issuers: [{ issuer: demoIssuer.issuer, audiences: [demoIssuer.audience], algorithms: ['RS256'], jwks: { keys: [demoIssuerPublicJwk()] } }],
    consumers: [{ id: 'app', keys: [keyEntry('pk_test_app', 'key_app')] }],
    routes: [
      { id: 'keys-only', path: '/keys-only', methods: ['GET'], upstream: 'backend', auth: ['apiKey'] },
      { id: 'tokens-only', path: '/tokens-only', methods: ['GET'], upstream: 'backend', auth: ['jwt'], issuers: [demoIssuer.issuer] },
      { id: 'either', path: '/either', methods: ['GET'], upstream: 'backend', auth: ['apiKey', 'jwt'], issuers: [demoIssuer.issuer] },
    ],
  });
});
after(async () => { await t?.close(); await upstream?.close(); });

const refused = async (path: string, headers: Record<string, string> = {}) => {
  const a = await call(`${t.url}${path}`, { headers });
  assertProblem(a, 401, 'credential_missing');
  return (await explainAnswer(t, a)).findings;
};

describe('credential_missing explanations', () => {
  test('a JWT sent as Bearer to an API-key-only route is told the route reads no Authorization header, and to send the key or add jwt', async () => {
    const f = await refused('/keys-only', { authorization: `Bearer ${JWT}` });
    assert.doesNotMatch(f, /expects Bearer/, 'the old text claimed the route expects the very scheme it does not read');
    assert.match(f, /An Authorization header was sent \(scheme "Bearer"\), but no authenticator on this route reads the Authorization header at all/);
    assert.match(f, /The route accepts only an API key in the "x-api-key" header\./);
    assert.match(f, /Fix: send that; if this route should accept tokens, add jwt to routes\[0\]\.auth\./);
  });

  test('a Basic credential on a JWT-only route is told the route reads Authorization only with scheme Bearer', async () => {
    const f = await refused('/tokens-only', { authorization: 'Basic dXNlcjpwYXNz' });
    assert.match(f, /An Authorization header was sent with scheme "Basic"; this route reads the Authorization header only with scheme Bearer\./);
    assert.match(f, /The route accepts only a JWT as "Authorization: Bearer <token>"\./);
    assert.doesNotMatch(f, /API key in/, 'a JWT-only route does not offer API keys');
  });

  test('an API key sent to a JWT-only route is told the route does not accept API keys', async () => {
    const f = await refused('/tokens-only', { 'x-api-key': 'pk_test_app' });
    assert.match(f, /An API key was sent in "x-api-key", but this route does not accept API keys\./);
    assert.match(f, /The route accepts only a JWT as "Authorization: Bearer <token>"\./);
    assert.match(f, /Fix: send that; if this route should accept API keys, add apiKey to routes\[1\]\.auth\./);
  });

  test('a Basic credential on a route taking both is offered both, without contradiction', async () => {
    const f = await refused('/either', { authorization: 'Basic dXNlcjpwYXNz' });
    assert.match(f, /scheme "Basic"; this route reads the Authorization header only with scheme Bearer\./);
    assert.match(f, /The route accepts an API key in the "x-api-key" header or a JWT as "Authorization: Bearer <token>"\./);
    assert.match(f, /Fix: send one of those\./);
  });

  test('no credential at all on an API-key-only route mentions no Authorization header', async () => {
    const f = await refused('/keys-only');
    assert.doesNotMatch(f, /Authorization/);
    assert.match(f, /The route accepts only an API key in the "x-api-key" header\./);
  });
});
