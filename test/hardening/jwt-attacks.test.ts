import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign as rsaSign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { importJWK, SignJWT, type JWK } from 'jose';
import { demoIssuer, demoIssuerPrivateJwk, demoIssuerPublicJwk } from '../../src/demo/demo-keys.ts';
import type { ReasonCode } from '../../src/reasons/catalogue.ts';
import { assertWellFormedAnswer, b64url, demoToken, problemCode, rawRequest, startDemoGateway, type DemoUnderTest } from './support.ts';

// The classic JWT attacks, each against the demo issuer (RS256, a fixed JWKS) and each
// refused with the precise reason an operator would want in the log. Where the attack
// needs the gateway to fetch something (jku, x5u), a real server records whether it was
// ever contacted: it must not be.

let d: DemoUnderTest;
let lure: Server;
let lureUrl: string;
let lureHits = 0;
let attackerKey: KeyObject;
let attackerJwk: JWK;
const kid = demoIssuerPrivateJwk().kid;

before(async () => {
  d = await startDemoGateway();
  lure = createServer((_req, res) => { lureHits++; res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ keys: [attackerJwk] })); });
  await new Promise<void>((r) => lure.listen(0, '127.0.0.1', () => r()));
  lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}/jwks.json`;
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  attackerKey = pair.privateKey;
  attackerJwk = { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'RS256', use: 'sig' };
});
after(async () => { await d.close(); await new Promise<void>((r) => lure.close(() => r())); });

const now = () => Math.floor(Date.now() / 1000);
const goodClaims = () => ({ iss: demoIssuer.issuer, aud: demoIssuer.audience, sub: 'mallory', scope: 'orders:read orders:write', iat: now(), exp: now() + 600 });

/**
 * A compact JWS with any header, signed (or not) however the attack needs. Signed with
 * node:crypto directly: a JOSE library would (rightly) refuse to produce most of these.
 */
function forge(header: Record<string, unknown>, claims: Record<string, unknown>, sign: 'none' | 'demo' | 'attacker' | { hmac: Uint8Array }): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  if (sign === 'none') return `${input}.`;
  if (typeof sign === 'object') return `${input}.${b64url(createHmac(header.alg === 'HS512' ? 'sha512' : 'sha256', sign.hmac).update(input).digest())}`;
  const key = sign === 'demo' ? createPrivateKey({ key: demoIssuerPrivateJwk() as never, format: 'jwk' }) : attackerKey;
  return `${input}.${b64url(rsaSign('sha256', Buffer.from(input), key))}`;
}

async function expectRefusal(token: string, status: number, code: ReasonCode, path = '/api/orders'): Promise<void> {
  const a = await rawRequest(d.port, `GET ${path} HTTP/1.1`, [`Authorization: Bearer ${token}`]);
  assertWellFormedAnswer(a, code);
  assert.equal(problemCode(a), code, `expected ${status} ${code}, got ${a.status} ${a.body}`);
  assert.equal(a.status, status);
  if (status === 401) assert.match(a.headers['www-authenticate'] ?? '', /^Bearer realm="pinpoint-demo", error="invalid_token"/);
}

describe('algorithm attacks', () => {
  for (const alg of ['none', 'nOnE', 'NONE', 'None']) {
    test(`alg "${alg}" with an empty signature is 401 token_algorithm_rejected`, async () => {
      await expectRefusal(forge({ alg, typ: 'JWT', kid }, goodClaims(), 'none'), 401, 'token_algorithm_rejected');
    });
  }

  test('alg "none" carrying the real RS256 signature is 401 token_algorithm_rejected', async () => {
    const real = await demoToken();
    const [, p, s] = real.split('.');
    await expectRefusal(`${b64url(JSON.stringify({ alg: 'none', kid }))}.${p}.${s}`, 401, 'token_algorithm_rejected');
  });

  test('HS256 signed with the issuer RSA public key (PEM, key confusion) is 401 token_algorithm_rejected', async () => {
    const pem = createPublicKey({ key: demoIssuerPublicJwk() as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    await expectRefusal(forge({ alg: 'HS256', typ: 'JWT', kid }, goodClaims(), { hmac: new TextEncoder().encode(String(pem)) }), 401, 'token_algorithm_rejected');
  });

  test('HS256 signed with the issuer RSA public key (JWK JSON and raw modulus) is 401 token_algorithm_rejected', async () => {
    const jwkJson = new TextEncoder().encode(JSON.stringify(demoIssuerPublicJwk()));
    await expectRefusal(forge({ alg: 'HS256', kid }, goodClaims(), { hmac: jwkJson }), 401, 'token_algorithm_rejected');
    const modulus = Buffer.from(String(demoIssuerPublicJwk().n), 'base64url');
    await expectRefusal(forge({ alg: 'HS512', kid }, goodClaims(), { hmac: new Uint8Array(modulus) }), 401, 'token_algorithm_rejected');
  });

  test('PS256 and ES256 headers (allowed families elsewhere, not for this issuer) are 401 token_algorithm_rejected', async () => {
    const real = await demoToken();
    const [, p, s] = real.split('.');
    for (const alg of ['PS256', 'ES256', 'RS512', 'EdDSA']) await expectRefusal(`${b64url(JSON.stringify({ alg, kid }))}.${p}.${s}`, 401, 'token_algorithm_rejected');
  });

  test('a missing alg is 401 token_algorithm_rejected', async () => {
    await expectRefusal(forge({ typ: 'JWT', kid }, goodClaims(), 'none'), 401, 'token_algorithm_rejected');
  });

  // Found by fuzz-http (seed 1302592835): {"alg":{"toString":null}} turned the refusal's message into a TypeError and a 500.
  test('an alg, kid or iss that is not a string (an object without toString, a number, a list) is 401 credential_malformed, not a 500', async () => {
    const hostile: unknown[] = [{ toString: null }, { valueOf: null, toString: null }, 256, ['RS256'], true];
    for (const v of hostile) {
      await expectRefusal(forge({ alg: v, typ: 'JWT', kid }, goodClaims(), 'demo'), 401, 'credential_malformed');
      await expectRefusal(forge({ alg: 'RS256', typ: 'JWT', kid: v }, goodClaims(), 'demo'), 401, 'credential_malformed');
      await expectRefusal(forge({ alg: 'RS256', typ: 'JWT', kid }, { ...goodClaims(), iss: v }, 'demo'), 401, 'credential_malformed');
    }
  });
});

describe('key-selection attacks', () => {
  const injected = ['../../../../../../dev/null', '/etc/passwd', "' OR '1'='1", "x' UNION SELECT 'secret' --", 'kid\u0000', '${jndi:ldap://127.0.0.1/x}', '*', 'a'.repeat(2000)];
  for (const k of injected) {
    test(`kid ${JSON.stringify(k.slice(0, 30))} (signed with an attacker key) is 401 token_signature_invalid`, async () => {
      await expectRefusal(forge({ alg: 'RS256', kid: k }, goodClaims(), 'attacker'), 401, 'token_signature_invalid');
    });
  }

  test('an injected kid on a token signed with the REAL key is still refused: the kid selects, never widens', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid: "' OR '1'='1" }, goodClaims(), 'demo'), 401, 'token_signature_invalid');
  });

  test('a token signed with an attacker key that reuses the demo kid is 401 token_signature_invalid', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid }, goodClaims(), 'attacker'), 401, 'token_signature_invalid');
  });

  for (const header of ['jku', 'x5u'] as const) {
    test(`a ${header} header pointing at an attacker JWKS is ignored: 401 token_signature_invalid and the URL is never fetched`, async () => {
      const before = lureHits;
      await expectRefusal(forge({ alg: 'RS256', kid, [header]: lureUrl }, goodClaims(), 'attacker'), 401, 'token_signature_invalid');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lureHits, before, `${header} was not fetched`);
    });
  }

  test('an embedded jwk header carrying the attacker public key is ignored: 401 token_signature_invalid', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid, jwk: attackerJwk }, goodClaims(), 'attacker'), 401, 'token_signature_invalid');
  });

  test('an x5c certificate chain in the header is ignored: 401 token_signature_invalid', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid, x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'] }, goodClaims(), 'attacker'), 401, 'token_signature_invalid');
  });
});

describe('header extensions', () => {
  test('a crit header naming an unknown extension is refused as 401 credential_malformed even with a valid signature', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid, crit: ['x-pinpoint-bypass'], 'x-pinpoint-bypass': true }, goodClaims(), 'demo'), 401, 'credential_malformed');
  });

  test('a malformed crit (not a list, empty, or naming a registered header) is 401 credential_malformed', async () => {
    for (const crit of ['exp', [], ['alg']]) await expectRefusal(forge({ alg: 'RS256', kid, crit }, goodClaims(), 'demo'), 401, 'credential_malformed');
  });

  test('b64:false (unencoded payload, RFC 7797) is refused as 401 credential_malformed even with a valid signature', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid, b64: false, crit: ['b64'] }, goodClaims(), 'demo'), 401, 'credential_malformed');
  });
});

describe('size attacks', () => {
  test('a token just over the issuer maxTokenBytes (8192) is 401 credential_malformed before any crypto', async () => {
    const big = await demoToken({ pad: 'x'.repeat(8200) });
    await expectRefusal(big, 401, 'credential_malformed');
  });

  test('a token larger than the header limit is 431 request_header_too_large', async () => {
    const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', [`Authorization: Bearer ${'a'.repeat(20_000)}.b.c`]);
    assertWellFormedAnswer(a, 'huge token');
    assert.equal(a.status, 431);
    assert.equal(problemCode(a), 'request_header_too_large');
  });

  test('a deeply nested claims object (JSON bomb within the size limit) is refused or accepted, answered promptly', async () => {
    const nested = JSON.parse('['.repeat(2000) + ']'.repeat(2000)) as unknown;
    const started = performance.now();
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), aud: 'other', deep: nested }, 'demo'), 401, 'token_audience_mismatch');
    assert.ok(performance.now() - started < 2000);
  });
});

describe('claim attacks (validly signed by the real issuer key)', () => {
  test('an expired token is 401 credential_expired', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), iat: now() - 7200, exp: now() - 3600 }, 'demo'), 401, 'credential_expired');
  });

  test('a token valid only from the future (nbf) is 401 credential_not_yet_valid', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), nbf: now() + 3600 }, 'demo'), 401, 'credential_not_yet_valid');
  });

  test('a token for another audience (or an audience list without ours) is 401 token_audience_mismatch', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), aud: 'billing' }, 'demo'), 401, 'token_audience_mismatch');
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), aud: ['billing', 'pinpoint-demo-x'] }, 'demo'), 401, 'token_audience_mismatch');
  });

  test('a token from another issuer (even signed with the demo key) is 401 token_issuer_untrusted', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), iss: 'https://evil.example' }, 'demo'), 401, 'token_issuer_untrusted');
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), iss: `${demoIssuer.issuer}/` }, 'demo'), 401, 'token_issuer_untrusted');
  });

  test('a token without exp is 401 credential_malformed (requireExp)', async () => {
    const { exp: _exp, ...noExp } = goodClaims();
    await expectRefusal(forge({ alg: 'RS256', kid }, noExp, 'demo'), 401, 'credential_malformed');
  });

  test('non-numeric exp or nbf is 401 credential_malformed', async () => {
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), exp: '9999999999' }, 'demo'), 401, 'credential_malformed');
    await expectRefusal(forge({ alg: 'RS256', kid }, { ...goodClaims(), nbf: [1] }, 'demo'), 401, 'credential_malformed');
  });

  test('a __proto__ scope claim does not grant scopes: a read-only token posting gets 403 insufficient_scope', async () => {
    const token = forge({ alg: 'RS256', kid }, { ...goodClaims(), scope: 'orders:read', ['__proto__']: { scope: 'orders:write' }, scp: { 'orders:write': true } }, 'demo');
    const a = await rawRequest(d.port, 'POST /api/orders HTTP/1.1', [`Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Content-Length: 2'], '{}');
    assert.equal(problemCode(a), 'insufficient_scope', a.body);
  });

  test('the genuine token of the same shape is accepted (the attacks above fail for their reason, not by accident)', async () => {
    const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', [`Authorization: Bearer ${forge({ alg: 'RS256', kid, typ: 'JWT' }, goodClaims(), 'demo')}`]);
    assert.equal(a.status, 200, a.body);
  });

  test('sending the token twice (two Authorization headers) is 401 credential_malformed', async () => {
    const t = await demoToken();
    const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', [`Authorization: Bearer ${t}`, `Authorization: Bearer ${t}`]);
    assert.equal(problemCode(a), 'credential_malformed', a.body);
  });
});

test('a token signed by the demo issuer key but for a valid subject with SignJWT defaults is accepted (sanity of forge)', async () => {
  const key = await importJWK(demoIssuerPrivateJwk(), 'RS256');
  const t = await new SignJWT({ scope: 'orders:read' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(demoIssuer.issuer).setAudience(demoIssuer.audience).setSubject('bob').setIssuedAt().setExpirationTime('5m').sign(key);
  const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', [`Authorization: Bearer ${t}`]);
  assert.equal(a.status, 200, a.body);
});

describe('attacker text reflected into WWW-Authenticate', () => {
  // Found by the long fuzz (scripts/fuzz.ts): the issuer named in the refusal's
  // error_description came from the token, and a character that is not allowed in a header
  // made Node throw while answering: a 500 instead of a 401.
  for (const iss of ['pin\ufffdoint-demo-issuer', 'évil', 'evil\r\nSet-Cookie: session=1', 'evil\u0000', 'a"b\\c']) {
    test(`an iss of ${JSON.stringify(iss)} is 401 token_issuer_untrusted with a header-safe challenge`, async () => {
      const token = forge({ alg: 'RS256', kid }, { ...goodClaims(), iss }, 'demo');
      const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', [`Authorization: Bearer ${token}`]);
      assertWellFormedAnswer(a, iss);
      assert.equal(problemCode(a), 'token_issuer_untrusted', a.body);
      const challenge = a.headers['www-authenticate'] ?? '';
      // RFC 6750 3: error_description is %x20-21 / %x23-5B / %x5D-7E.
      assert.match(challenge, /^Bearer realm="pinpoint-demo", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"$/);
      assert.ok(!/set-cookie/i.test(Object.keys(a.headers).join(' ')), 'no header injected');
    });
  }
});
