import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { app, fetchToken, httpsRequest, settingsFor, startTestVault, TENANT, type TestVault } from '../vault/support.ts';

const a = app('token-app');
let t: TestVault;
before(async () => { t = await startTestVault(settingsFor([a], [{ name: 'demo', tenant: TENANT }])); });
after(async () => { await t.close(); });

const form = (fields: Record<string, string>) => httpsRequest(t, `${t.url}/${TENANT}/oauth2/v2.0/token`, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
});

test('the OpenID configuration names the token endpoint and JWKS on the authority\'s own scheme, host and port', async () => {
  const r = await httpsRequest(t, `${t.url}/${TENANT}/v2.0/.well-known/openid-configuration`);
  assert.equal(r.status, 200);
  assert.equal(r.json.issuer, `${t.url}/${TENANT}/v2.0`);
  assert.equal(r.json.token_endpoint, `${t.url}/${TENANT}/oauth2/v2.0/token`);
  assert.equal(r.json.jwks_uri, `${t.url}/${TENANT}/discovery/v2.0/keys`);
  assert.equal(typeof r.json.authorization_endpoint, 'string');
});

test('a client-credentials request returns an RS256 token with aud, iss, iat, nbf, exp, appid, tid and oid that verifies against the JWKS', async () => {
  const r = await form({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.secret, scope: 'https://vault.localhost/.default', claims: '{"access_token":{}}' });
  assert.equal(r.status, 200);
  assert.equal(r.json.token_type, 'Bearer');
  assert.equal(r.json.expires_in, 3599);
  const token = r.json.access_token as string;
  assert.equal(decodeProtectedHeader(token).alg, 'RS256');
  const c = decodeJwt(token);
  assert.equal(c.aud, 'https://vault.localhost');
  assert.equal(c.iss, `${t.url}/${TENANT}/v2.0`);
  assert.equal(c.appid, a.clientId);
  assert.equal(c.tid, TENANT);
  assert.equal(c.oid, a.objectId);
  assert.ok(typeof c.iat === 'number' && c.nbf === c.iat && c.exp === c.iat + 3600);
  const jwks = await httpsRequest(t, `${t.url}/${TENANT}/discovery/v2.0/keys`);
  const verified = await jwtVerify(token, createLocalJWKSet(jwks.json as never), { audience: 'https://vault.localhost' });
  assert.equal(verified.payload.oid, a.objectId);
});

test('the v1 form with resource= is accepted too', async () => {
  const r = await httpsRequest(t, `${t.url}/${TENANT}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.secret, resource: 'https://vault.localhost' }).toString() });
  assert.equal(r.status, 200);
  assert.equal(decodeJwt(r.json.access_token as string).aud, 'https://vault.localhost');
});

test('a wrong client secret gets 401 invalid_client with an AADSTS description', async () => {
  const r = await form({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: 'nope', scope: 'https://vault.localhost/.default' });
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'invalid_client');
  assert.match(r.json.error_description as string, /^AADSTS7000215: Invalid client secret/);
});

test('an unknown client id gets unauthorized_client naming the directory', async () => {
  const r = await form({ grant_type: 'client_credentials', client_id: 'ghost', client_secret: 'x', scope: 'https://vault.localhost/.default' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'unauthorized_client');
  assert.match(r.json.error_description as string, /'ghost' was not found in the directory 'test-tenant'/);
});

test('a scope without /.default gets invalid_scope, an unknown resource invalid_resource, another grant unsupported_grant_type', async () => {
  const s = await form({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.secret, scope: 'https://vault.localhost/secrets.read' });
  assert.equal(s.status, 400);
  assert.equal(s.json.error, 'invalid_scope');
  const r = await form({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.secret, scope: 'https://graph.example/.default' });
  assert.equal(r.json.error, 'invalid_resource');
  const g = await form({ grant_type: 'password', client_id: a.clientId, client_secret: a.secret, scope: 'https://vault.localhost/.default' });
  assert.equal(g.json.error, 'unsupported_grant_type');
  const m = await form({ client_id: a.clientId, client_secret: a.secret });
  assert.equal(m.json.error, 'invalid_request');
});

test('an unknown tenant gets invalid_request AADSTS90002', async () => {
  const r = await httpsRequest(t, `${t.url}/other-tenant/v2.0/.well-known/openid-configuration`);
  assert.equal(r.status, 400);
  assert.match(r.json.error_description as string, /^AADSTS90002: Tenant 'other-tenant' not found/);
});

test('after a key rotation the JWKS publishes both keys, so a token signed before still verifies and new tokens use the new key', async () => {
  const before = await fetchToken(t, a);
  const oldKid = decodeProtectedHeader(before.json.access_token as string).kid;
  const newKid = await t.vault.keys.rotate();
  const jwks = await httpsRequest(t, `${t.url}/${TENANT}/discovery/v2.0/keys`);
  const kids = (jwks.json.keys as { kid: string }[]).map((k) => k.kid);
  assert.ok(kids.includes(oldKid!) && kids.includes(newKid));
  const afterRotation = await fetchToken(t, a);
  assert.equal(decodeProtectedHeader(afterRotation.json.access_token as string).kid, newKid);
  const r = await httpsRequest(t, `${t.url}/secrets?api-version=7.5`, { headers: { authorization: `Bearer ${before.json.access_token as string}` } });
  assert.equal(r.status, 403, 'the old token still authenticates (403 = no policy, not 401)');
});

test('an app registered with a certificate authenticates with a signed client assertion (private_key_jwt)', async () => {
  const { generateKeyPair, exportSPKI, SignJWT } = await import('jose');
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const certApp = app('cert-app');
  const settings = settingsFor([a, certApp], [{ name: 'demo', tenant: TENANT }]) as { apps: { clientId: string; assertionKeys?: string[] }[] };
  settings.apps.find((x) => x.clientId === 'cert-app')!.assertionKeys = [await exportSPKI(publicKey)];
  t.rewrite(settings);
  const endpoint = `${t.url}/${TENANT}/oauth2/v2.0/token`;
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer('cert-app').setSubject('cert-app').setAudience(endpoint)
    .setIssuedAt().setExpirationTime('5m').setJti(crypto.randomUUID()).sign(privateKey);
  const ok = await form({ grant_type: 'client_credentials', client_id: 'cert-app', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion, scope: 'https://vault.localhost/.default' });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal(decodeJwt(ok.json.access_token as string).appid, 'cert-app');
  const wrongAud = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer('cert-app').setSubject('cert-app').setAudience('https://elsewhere/token')
    .setIssuedAt().setExpirationTime('5m').sign(privateKey);
  const bad = await form({ grant_type: 'client_credentials', client_id: 'cert-app', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: wrongAud, scope: 'https://vault.localhost/.default' });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error, 'invalid_client');
});
