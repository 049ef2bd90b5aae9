import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { mintDemoToken } from '../../src/cli/token.ts';
import { demoIssuer, demoIssuerPublicJwk } from '../../src/demo/demo-keys.ts';
import { call, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { rawCall, assertProblem, checkRecord, traceOf } from '../support/assertions.ts';

// Bearer tokens over real HTTP: real RSA keys minted here, a real JWKS endpoint on loopback,
// and one refusal code per way a token can be wrong. None of them may ever reach the upstream.

const ISS = 'https://login.example.test';
const REMOTE_ISS = 'https://remote-idp.example.test';
const DOWN_ISS = 'https://down-idp.example.test';
const BROKEN_ISS = 'https://broken-idp.example.test';
const WITHDRAWING_ISS = 'https://withdrawing-idp.example.test';
const AUD = 'orders-api';

interface SigningKey { readonly privateKey: CryptoKey; readonly publicKey: CryptoKey; readonly kid: string; readonly jwk: JWK }

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, publicKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface MintOptions {
  readonly key: SigningKey;
  readonly kid?: string;
  readonly iss?: string;
  readonly aud?: string;
  /** Seconds from now; null leaves exp out. */
  readonly exp?: number | null;
  /** Seconds from now. */
  readonly nbf?: number;
  readonly claims?: Record<string, unknown>;
}

function mint(o: MintOptions): Promise<string> {
  const now = nowSeconds();
  const jwt = new SignJWT({ sub: 'alice', ...o.claims })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? o.key.kid, typ: 'JWT' })
    .setIssuer(o.iss ?? ISS)
    .setAudience(o.aud ?? AUD)
    .setIssuedAt(now)
    .setJti(crypto.randomUUID());
  if (o.exp !== null) jwt.setExpirationTime(now + (o.exp ?? 600));
  if (o.nbf !== undefined) jwt.setNotBefore(now + o.nbf);
  return jwt.sign(o.key.privateKey);
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A JWKS endpoint whose keys and status the test changes, counting how often it is fetched. */
interface JwksServer { readonly url: string; keys: JWK[]; status: number; fetches: number; close(): Promise<void> }

async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, status: 200, fetches: 0 };
  const server: Server = createServer((req, res) => {
    state.fetches++;
    if (state.status !== 200) { res.writeHead(state.status, { 'content-type': 'text/plain' }); res.end('identity provider is having a bad day'); return; }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('jwt check', () => {
  let upstream: TestUpstream;
  let jwks: JwksServer;
  let brokenJwks: JwksServer;
  let withdrawingJwks: JwksServer;
  let t: TestGateway;
  let main: SigningKey;
  let stranger: SigningKey;
  let remote1: SigningKey;
  let remote2: SigningKey;
  let withdrawn: SigningKey;
  let config: Record<string, unknown>;

  before(async () => {
    [main, stranger, remote1, remote2, withdrawn] = await Promise.all([signingKey('main-1'), signingKey('stranger-1'), signingKey('remote-1'), signingKey('remote-2'), signingKey('withdrawn-1')]);
    upstream = await startUpstream();
    jwks = await startJwksServer([remote1.jwk]);
    brokenJwks = await startJwksServer([remote1.jwk]);
    brokenJwks.status = 500;
    withdrawingJwks = await startJwksServer([withdrawn.jwk]);
    const issuer = (iss: string, keys: object) => ({ issuer: iss, audiences: [AUD], algorithms: ['RS256'], ...keys });
    config = {
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      issuers: [
        { ...issuer(ISS, { jwks: { keys: [main.jwk] } }), maxTokenBytes: 2048 },
        issuer(REMOTE_ISS, { jwksUri: `${jwks.url}/.well-known/jwks.json` }),
        issuer(DOWN_ISS, { jwksUri: `http://127.0.0.1:${await closedPort()}/.well-known/jwks.json` }),
        issuer(BROKEN_ISS, { jwksUri: `${brokenJwks.url}/.well-known/jwks.json` }),
        issuer(WITHDRAWING_ISS, { jwksUri: `${withdrawingJwks.url}/.well-known/jwks.json` }),
        { issuer: demoIssuer.issuer, audiences: [demoIssuer.audience], algorithms: ['RS256'], jwks: { keys: [demoIssuerPublicJwk()] } },
      ],
      routes: [
        { id: 'orders', path: '/orders', methods: ['GET', 'POST'], upstream: 'backend', auth: ['jwt'], issuers: [ISS], scopes: { POST: ['orders:write'] } },
        { id: 'remote', path: '/remote', methods: ['GET'], upstream: 'backend', auth: ['jwt'], issuers: [REMOTE_ISS] },
        { id: 'down', path: '/down', methods: ['GET'], upstream: 'backend', auth: ['jwt'], issuers: [DOWN_ISS] },
        { id: 'broken', path: '/broken', methods: ['GET'], upstream: 'backend', auth: ['jwt'], issuers: [BROKEN_ISS] },
        { id: 'withdrawing', path: '/withdrawing', methods: ['GET'], upstream: 'backend', auth: ['jwt'], issuers: [WITHDRAWING_ISS] },
        { id: 'demo', path: '/demo', methods: ['GET'], upstream: 'backend', auth: ['jwt'], issuers: [demoIssuer.issuer] },
      ],
    };
    t = await startTestGateway(config);
  });

  after(async () => {
    await t?.close();
    await upstream?.close();
    await jwks?.close();
    await brokenJwks?.close();
    await withdrawingJwks?.close();
  });

  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  /** A token refusal: 401, the code, an RFC 6750 invalid_token challenge, and nothing forwarded. */
  async function refused(path: string, token: string, code: Parameters<typeof assertProblem>[2] | readonly string[]): Promise<Answer> {
    const seen = upstream.seen.length;
    const a = await call(`${t.url}${path}`, bearer(token));
    if (typeof code === 'string') assertProblem(a, 401, code);
    else {
      assert.equal(a.status, 401, a.text);
      assert.ok(code.includes(String(a.json.code)), `code ${String(a.json.code)} is one of ${code.join(', ')}`);
    }
    assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer realm="pinpoint", error="invalid_token", error_description="[^"]*"$/);
    assert.equal(upstream.seen.length, seen, 'the upstream saw nothing');
    return a;
  }

  test('a request without a token gets 401 credential_missing with a Bearer challenge without error', async () => {
    const a = await call(`${t.url}/orders`);
    assertProblem(a, 401, 'credential_missing');
    assert.equal(a.headers.get('www-authenticate'), 'Bearer realm="pinpoint"');
  });

  test('a Basic credential on a bearer-only route counts as no credential', async () => {
    const a = await call(`${t.url}/orders`, { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    assertProblem(a, 401, 'credential_missing');
  });

  test('a token sent in two Authorization headers gets 401 credential_malformed, not half-read', async () => {
    const token = await mint({ key: main, claims: { scope: 'orders:read orders:write' } });
    const a = await rawCall(t.url, '/orders', ['authorization', `Bearer ${token}`, 'authorization', 'Bearer something-else']);
    assertProblem(a, 401, 'credential_malformed');
    assert.match(a.json.detail as string, /sent more than once/);
  });

  test('a valid RS256 token passes and its space-separated scope claim becomes the scopes', async () => {
    const token = await mint({ key: main, claims: { scope: 'orders:read orders:write' } });
    const a = await call(`${t.url}/orders`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    assert.equal(a.status, 201, a.text);
    const got = upstream.seen.at(-1)!;
    assert.equal(got.headers['x-authenticated-scopes'], 'orders:read orders:write');
    assert.equal(got.headers['x-authenticated-subject'], 'alice');
    assert.equal(got.headers.authorization, undefined, 'the token is not forwarded');
    const trace = await traceOf(t, a);
    assert.equal(trace.identity?.kind, 'jwt');
    assert.deepEqual(checkRecord(trace, 'jwt').evidence?.issuer, ISS);
    assert.ok(!JSON.stringify(trace).includes(token.split('.')[2]!), 'the token signature is not in the log');
  });

  test('scopes also come from an scp array claim', async () => {
    const token = await mint({ key: main, claims: { scp: ['orders:write'] } });
    const a = await call(`${t.url}/orders`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    assert.equal(a.status, 201, a.text);
    assert.equal(upstream.seen.at(-1)!.headers['x-authenticated-scopes'], 'orders:write');
  });

  test('a token without the needed scope is authenticated but gets 403 insufficient_scope', async () => {
    const token = await mint({ key: main, claims: { scope: 'orders:read' } });
    const a = await call(`${t.url}/orders`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    assertProblem(a, 403, 'insufficient_scope');
    assert.equal(a.headers.get('www-authenticate'), 'Bearer realm="pinpoint", error="insufficient_scope", scope="orders:write"');
  });

  test('a token minted by the demo issuer helper is accepted on a route that trusts the demo issuer', async () => {
    const a = await call(`${t.url}/demo`, bearer(await mintDemoToken({ sub: 'demo-user', scope: 'demo:read' })));
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.headers['x-authenticated-subject'], 'demo-user');
  });

  test('a token that expired an hour ago gets 401 credential_expired', async () => {
    await refused('/orders', await mint({ key: main, exp: -3600 }), 'credential_expired');
  });

  test('a token that expired 10 s ago is still accepted within the 30 s clock skew', async () => {
    const a = await call(`${t.url}/orders`, bearer(await mint({ key: main, exp: -10 })));
    assert.equal(a.status, 200, a.text);
  });

  test('a token whose nbf is an hour ahead gets 401 credential_not_yet_valid', async () => {
    await refused('/orders', await mint({ key: main, nbf: 3600 }), 'credential_not_yet_valid');
  });

  test('a token issued for another audience gets 401 token_audience_mismatch', async () => {
    await refused('/orders', await mint({ key: main, aud: 'billing-api' }), 'token_audience_mismatch');
  });

  test('a token from an issuer nobody configured gets 401 token_issuer_untrusted', async () => {
    await refused('/orders', await mint({ key: stranger, iss: 'https://evil.example.test' }), 'token_issuer_untrusted');
  });

  test('a token from a configured issuer the route does not trust gets 401 token_issuer_untrusted', async () => {
    await refused('/orders', await mint({ key: remote1, iss: REMOTE_ISS }), 'token_issuer_untrusted');
  });

  test('a token whose payload was changed after signing gets 401 token_signature_invalid', async () => {
    const token = await mint({ key: main, claims: { scope: 'orders:read' } });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${header}.${b64url({ ...claims, scope: 'orders:read orders:write admin' })}.${signature}`;
    await refused('/orders', forged, 'token_signature_invalid');
  });

  test('an unsigned token (alg none) is refused with 401 and never passes', async () => {
    const now = nowSeconds();
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iss: ISS, aud: AUD, sub: 'alice', iat: now, exp: now + 600, scope: 'orders:write' })}.`;
    await refused('/orders', token, ['token_algorithm_rejected', 'credential_malformed']);
  });

  test('an HS256 token signed with the issuer RSA public key as the HMAC secret (key confusion) is refused with 401', async () => {
    const now = nowSeconds();
    const claims = { iss: ISS, aud: AUD, sub: 'alice', iat: now, exp: now + 600, scope: 'orders:write' };
    const pem = await exportSPKI(main.publicKey);
    const secrets = [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(main.jwk)), Buffer.from(main.jwk.n!, 'base64url')];
    for (const secret of secrets) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: main.kid, typ: 'JWT' }).sign(secret);
      const a = await refused('/orders', token, ['token_algorithm_rejected', 'token_signature_invalid']);
      assert.equal(a.json.code, 'token_algorithm_rejected');
    }
  });

  test('a token with a kid the issuer does not publish gets 401 token_signature_invalid', async () => {
    await refused('/orders', await mint({ key: stranger, kid: 'no-such-kid' }), 'token_signature_invalid');
  });

  test('a token signed by another key under the issuer kid gets 401 token_signature_invalid', async () => {
    await refused('/orders', await mint({ key: stranger, kid: main.kid }), 'token_signature_invalid');
  });

  test('a token larger than maxTokenBytes gets 401 credential_malformed before any verification', async () => {
    const token = await mint({ key: main, claims: { padding: 'x'.repeat(2500) } });
    const a = await refused('/orders', token, 'credential_malformed');
    assert.match(String(a.json.detail), /more than the 2048 allowed/);
  });

  test('a bearer value that is not a JWT gets 401 credential_malformed', async () => {
    await refused('/orders', 'opaque-access-token-1234', 'credential_malformed');
    await refused('/orders', 'not.a.jwt', 'credential_malformed');
  });

  test('a token without exp is refused with 401 credential_malformed naming the missing claim', async () => {
    const a = await refused('/orders', await mint({ key: main, exp: null }), 'credential_malformed');
    assert.match(String(a.json.detail), /exp/);
  });

  test('a token verified on one route is not accepted on a route that does not trust its issuer', async () => {
    const token = await mint({ key: main });
    const first = await call(`${t.url}/orders`, bearer(token));
    assert.equal(first.status, 200, first.text);
    // The same text again, now on a route that trusts only the remote issuer: the cache of
    // verified tokens must not stand in for the route's own list of trusted issuers.
    await refused('/remote', token, 'token_issuer_untrusted');
  });

  test('a remote JWKS served over HTTP verifies tokens and is fetched once for many requests', async () => {
    const before = jwks.fetches;
    for (let i = 0; i < 3; i++) {
      const a = await call(`${t.url}/remote`, bearer(await mint({ key: remote1, iss: REMOTE_ISS })));
      assert.equal(a.status, 200, a.text);
    }
    assert.ok(jwks.fetches - before <= 1, `the JWKS was fetched ${jwks.fetches - before} times for 3 tokens`);
    assert.ok(jwks.fetches >= 1);
  });

  test('after the issuer rotates to a new kid, tokens signed with the new key are accepted and the retired key is refused', async (tc) => {
    // The remote key set refetches on an unknown kid at most once per 30 s cooldown, so an
    // attacker spraying random kids cannot turn the gateway against the identity provider.
    const warm = await call(`${t.url}/remote`, bearer(await mint({ key: remote1, iss: REMOTE_ISS })));
    assert.equal(warm.status, 200, warm.text);
    const sprayed = jwks.fetches;
    await refused('/remote', await mint({ key: stranger, iss: REMOTE_ISS, kid: 'random-kid' }), 'token_signature_invalid');
    assert.equal(jwks.fetches, sprayed, 'an unknown kid within the cooldown does not refetch');

    jwks.keys = [remote2.jwk];
    // The cooldown is measured with Date.now: move the gateway's clock past it instead of sleeping 30 s.
    const realNow = Date.now.bind(Date);
    tc.mock.method(Date, 'now', () => realNow() + 31_000);
    const rotated = await call(`${t.url}/remote`, bearer(await mint({ key: remote2, iss: REMOTE_ISS })));
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(jwks.fetches, sprayed + 1, 'the new kid made the gateway refetch the key set once');
    await refused('/remote', await mint({ key: remote1, iss: REMOTE_ISS }), 'token_signature_invalid');
  });

  test('a token in steady use is re-verified at least every 5 minutes, so a signing key the issuer withdrew stops being accepted', async (tc) => {
    const token = await mint({ key: withdrawn, iss: WITHDRAWING_ISS, exp: 3600 });
    const start = Date.now();
    let offset = 0;
    tc.mock.method(Date, 'now', () => start + offset);
    const at = async (minutes: number) => { offset = minutes * 60_000; return call(`${t.url}/withdrawing`, bearer(token)); };

    assert.equal((await at(0)).status, 200, 'verified against the freshly fetched key set');
    withdrawingJwks.keys = [remote2.jwk];
    // Used every 4 minutes: the key set the gateway fetched at 0 is stale after 10 minutes,
    // and the verified-token cache must not keep vouching for the token past its 5 minutes.
    assert.equal((await at(4)).status, 200, 'within 5 minutes of its verification: served from the cache');
    assert.equal((await at(8)).status, 200, 're-verified against the key set still cached from minute 0');
    assert.equal((await at(12)).status, 200, 'within 5 minutes of the re-verification');
    const a = await at(16);
    assertProblem(a, 401, 'token_signature_invalid');
    assert.ok(withdrawingJwks.fetches >= 2, 'the gateway refetched the key set and found the key gone');
  });

  test('when the JWKS endpoint cannot be reached the answer is 503 issuer_keys_unavailable, not a 401', async () => {
    const seen = upstream.seen.length;
    const a = await call(`${t.url}/down`, bearer(await mint({ key: main, iss: DOWN_ISS })));
    assertProblem(a, 503, 'issuer_keys_unavailable');
    assert.equal(a.headers.get('www-authenticate'), null, 'the token is not blamed');
    assert.equal(upstream.seen.length, seen);
  });

  test('when the JWKS endpoint answers 500 the answer is 503 issuer_keys_unavailable, not credential_malformed', async () => {
    const a = await call(`${t.url}/broken`, bearer(await mint({ key: remote1, iss: BROKEN_ISS })));
    assertProblem(a, 503, 'issuer_keys_unavailable');
    assert.ok(brokenJwks.fetches >= 1, 'the gateway did ask the endpoint');
  });

  test('after a reload changes the issuer audience, a token verified before the reload is refused', async () => {
    const token = await mint({ key: main });
    assert.equal((await call(`${t.url}/orders`, bearer(token))).status, 200);
    const issuers = (config.issuers as Record<string, unknown>[]).map((i) => (i.issuer === ISS ? { ...i, audiences: ['orders-api-v2'] } : i));
    const reloaded = t.rewrite({ ...config, issuers });
    assert.equal(reloaded.ok, true, reloaded.message);
    await refused('/orders', token, 'token_audience_mismatch');
  });
});
