import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { allPermissions, app, fetchToken, httpsRequest, settingsFor, startTestVault, TENANT, type TestVault } from './support.ts';

// Bad input gets a clear answer in Key Vault's error shape: never a crash, a hang or a 5xx.

const a = app('bad-input-app');
let t: TestVault;
let auth: Record<string, string>;
before(async () => {
  t = await startTestVault(settingsFor([a], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: a.objectId, secrets: allPermissions }] }]));
  auth = { authorization: `Bearer ${(await fetchToken(t, a)).json.access_token as string}`, 'content-type': 'application/json' };
});
after(async () => { await t.close(); });

const errorCode = (json: Record<string, unknown>) => (json.error as { code?: string } | undefined)?.code;

test('a body over 256 KB gets 413', async () => {
  const r = await httpsRequest(t, `${t.url}/secrets/big?api-version=7.5`, { method: 'PUT', headers: auth, body: JSON.stringify({ value: 'x'.repeat(300 * 1024) }) });
  assert.equal(r.status, 413);
  assert.equal(errorCode(r.json), 'RequestEntityTooLarge');
});

test('a value over Key Vault\'s 25 KB limit gets 400', async () => {
  const r = await httpsRequest(t, `${t.url}/secrets/big?api-version=7.5`, { method: 'PUT', headers: auth, body: JSON.stringify({ value: 'x'.repeat(26 * 1024) }) });
  assert.equal(r.status, 400);
});

test('an unknown path is 404 and a wrong method 405 with Allow', async () => {
  const nope = await httpsRequest(t, `${t.url}/keys/k?api-version=7.5`, { headers: auth });
  assert.equal(nope.status, 404);
  const wrong = await httpsRequest(t, `${t.url}/secrets/x?api-version=7.5`, { method: 'POST', headers: auth, body: '{}' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.allow, 'GET, PUT, PATCH, DELETE');
});

test('an unknown api-version is 400 naming it', async () => {
  const r = await httpsRequest(t, `${t.url}/secrets/x?api-version=9.9`, { headers: auth });
  assert.equal(r.status, 400);
  assert.match((r.json.error as { message: string }).message, /\(9\.9\) is not recognized/);
});

test('a non-Bearer scheme gets the 401 challenge and a garbage bearer token 401 malformed', async () => {
  const basic = await httpsRequest(t, `${t.url}/secrets/x?api-version=7.5`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assert.equal(basic.status, 401);
  assert.match(String(basic.headers['www-authenticate']), /^Bearer authorization="/);
  const garbage = await httpsRequest(t, `${t.url}/secrets/x?api-version=7.5`, { headers: { authorization: 'Bearer not.a.jwt' } });
  assert.equal(garbage.status, 401);
  assert.match((garbage.json.error as { message: string }).message, /malformed/);
});

test('bad percent-encoding, bad maxresults, bad tags and bad attributes are 400, not 500', async () => {
  const enc = await httpsRequest(t, `${t.url}/secrets/%E0%A4%A?api-version=7.5`, { headers: auth });
  assert.equal(enc.status, 400);
  const max = await httpsRequest(t, `${t.url}/secrets?api-version=7.5&maxresults=abc`, { headers: auth });
  assert.equal(max.status, 400);
  const tags = await httpsRequest(t, `${t.url}/secrets/x?api-version=7.5`, { method: 'PUT', headers: auth, body: JSON.stringify({ value: 'v', tags: { a: 1 } }) });
  assert.equal(tags.status, 400);
  const attrs = await httpsRequest(t, `${t.url}/secrets/x?api-version=7.5`, { method: 'PUT', headers: auth, body: JSON.stringify({ value: 'v', attributes: { exp: 'tomorrow' } }) });
  assert.equal(attrs.status, 400);
  const arr = await httpsRequest(t, `${t.url}/secrets/x?api-version=7.5`, { method: 'PUT', headers: auth, body: '[1,2]' });
  assert.equal(arr.status, 400);
});

test('a token request with a JSON body gets invalid_request, not a crash', async () => {
  const r = await httpsRequest(t, `${t.url}/${TENANT}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'invalid_request');
});
