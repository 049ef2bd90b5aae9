import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import { SignJWT, importPKCS8 } from 'jose';
import { allPermissions, app, fetchToken, httpsRequest, sdkClient, settingsFor, startTestVault, TENANT, type TestVault } from './support.ts';

const owner = app('refusal-owner');
const stranger = app('refusal-stranger');
let t: TestVault;
before(async () => {
  t = await startTestVault(settingsFor([owner, stranger], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: owner.objectId, secrets: allPermissions }] }]));
  await sdkClient(t, owner).setSecret('greeting', 'hello');
});
after(async () => { await t.close(); });

interface SdkError { statusCode?: number; code?: string; message: string; response?: { headers: { get(n: string): string | undefined } } }

/** The SDK with a fixed token: how a client with a bad token sees the vault. */
function withToken(token: string): SecretClient {
  const credential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  return new SecretClient(t.url, credential, { disableChallengeResourceVerification: true, tlsOptions: { ca: t.caPem }, retryOptions: { maxRetries: 0 } });
}

async function signed(claims: Record<string, unknown>, options: { foreignKey?: boolean } = {}): Promise<string> {
  const active = t.vault.keys.active;
  const key = options.foreignKey
    ? await importPKCS8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'RS256')
    : active.privateKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ appid: owner.clientId, oid: owner.objectId, tid: TENANT, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: active.kid })
    .setAudience((claims.aud as string | undefined) ?? 'https://vault.localhost')
    .setIssuer((claims.iss as string | undefined) ?? `${t.url}/${TENANT}/v2.0`)
    .setIssuedAt((claims.iat as number | undefined) ?? now)
    .setNotBefore((claims.nbf as number | undefined) ?? now)
    .setExpirationTime((claims.exp as number | undefined) ?? now + 3600)
    .sign(key);
}

test('a request without a token gets 401 with the Bearer challenge naming the authority and the resource', async () => {
  const r = await httpsRequest(t, `${t.url}/secrets/greeting?api-version=7.5`);
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'], `Bearer authorization="${t.url}/${TENANT}", resource="https://vault.localhost"`);
  assert.deepEqual(r.json, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });
  assert.match(String(r.headers['x-ms-request-id']), /^[0-9a-f-]{36}$/);
});

test('a token for another audience gets 401 naming the expected and the found audience, as an SDK RestError', async () => {
  const token = (await fetchToken(t, owner, 'https://management.localhost/.default')).json.access_token as string;
  await assert.rejects(withToken(token).getSecret('greeting'), (e: SdkError) => {
    assert.equal(e.statusCode, 401);
    assert.equal(e.code, 'Unauthorized');
    assert.match(e.message, /Invalid audience\. Expected https:\/\/vault\.localhost, found: https:\/\/management\.localhost/);
    return true;
  });
});

test('an expired token gets 401 saying it expired', async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = await signed({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
  await assert.rejects(withToken(token).getSecret('greeting'), (e: SdkError) => e.statusCode === 401 && /Token expired at/.test(e.message));
});

test('a token that is not yet valid gets 401 saying from when it is valid', async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = await signed({ nbf: now + 3600, exp: now + 7200 });
  await assert.rejects(withToken(token).getSecret('greeting'), (e: SdkError) => e.statusCode === 401 && /not valid before/.test(e.message));
});

test('a token signed by another key under the same kid gets 401 naming the signature', async () => {
  const token = await signed({}, { foreignKey: true });
  await assert.rejects(withToken(token).getSecret('greeting'), (e: SdkError) => e.statusCode === 401 && /Invalid token signature/.test(e.message));
});

test('a token from another issuer gets 401 naming the issuer', async () => {
  const token = await signed({ iss: 'https://login.example.com/other/v2.0' });
  await assert.rejects(withToken(token).getSecret('greeting'), (e: SdkError) => e.statusCode === 401 && /Invalid issuer.*found: https:\/\/login\.example\.com\/other\/v2\.0/.test(e.message));
});

test('a wrong client secret fails in the credential with the token service\'s invalid_client', async () => {
  const client = sdkClient(t, { ...owner, secret: 'wrong' });
  await assert.rejects(client.getSecret('greeting'), (e: Error & { errorResponse?: { error?: string } }) => {
    assert.match(e.message, /invalid_client|AADSTS7000215/);
    return true;
  });
});

test('an identity without an access policy gets 403 Forbidden naming appid, oid, the permission and the vault', async () => {
  await assert.rejects(sdkClient(t, stranger).getSecret('greeting'), (e: SdkError) => {
    assert.equal(e.statusCode, 403);
    assert.equal(e.code, 'Forbidden');
    assert.match(e.message, new RegExp(`'appid=${stranger.clientId};oid=${stranger.objectId};iss=[^']+' does not have secrets get permission on key vault 'demo;location=local'`));
    return true;
  });
});
