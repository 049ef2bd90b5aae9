import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { after, before, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { app, httpsRequest, sdkClient, settingsFor, startTestVault, TENANT, type TestVault } from '../vault/support.ts';

// Guessing a vault app's client secret at the token service: a few wrong secrets from one
// address, then 429 with Retry-After (what Entra ID answers a throttled client-credentials
// request), the right secret included, until the window has passed.

const a = app('throttled-app');
const windowSeconds = 4;
let t: TestVault;
const logs: Record<string, unknown>[] = [];
before(async () => {
  const base = settingsFor([a], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: a.objectId, secrets: ['get', 'set'] }] }]) as Record<string, unknown>;
  t = await startTestVault({ ...base, tokenService: { tenants: [TENANT], clientAuthThrottle: { maxFailures: 3, windowSeconds, globalMaxFailures: 1000, maxTrackedClients: 100 } } },
    { logger: pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logs.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } })) });
});
after(async () => { await t.close(); });

const token = (fields: Record<string, string>) => httpsRequest(t, `${t.url}/${TENANT}/oauth2/v2.0/token`, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'https://vault.localhost/.default', ...fields }).toString(),
});

test('an unknown resource is refused before the secret is looked at: right or wrong, 400 invalid_resource, and no budget taken', async () => {
  // Judged after the secret, a right secret's 400 told it apart from a wrong one's 401 even
  // past the budget, when every guess must get the same 429.
  for (const secret of [a.secret, 'guess-x', 'guess-y', 'guess-z']) {
    const r = await token({ client_id: a.clientId, client_secret: secret, scope: 'https://nope.example/.default' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_resource');
  }
});

test('after 3 wrong client secrets the right one gets 429 temporarily_unavailable with Retry-After, and a token again after the window', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await token({ client_id: a.clientId, client_secret: `guess-${i}` });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error, 'invalid_client');
  }
  const lockedAt = Date.now();
  const right = await token({ client_id: a.clientId, client_secret: a.secret });
  assert.equal(right.status, 429, right.text);
  assert.equal(right.json.error, 'temporarily_unavailable');
  assert.match(right.json.error_description as string, /^AADSTS50053: Too many failed client authentications/);
  assert.deepEqual(right.json.error_codes, [50053]);
  assert.equal(right.json.access_token, undefined);
  const retryAfter = Number(right.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${right.headers['retry-after']}`);

  // A signed client assertion is refused the same way: the lock is on the address, not on the method.
  const { privateKey } = await generateKeyPair('RS256');
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(a.clientId).setSubject(a.clientId).setAudience('x').setExpirationTime('5m').sign(privateKey);
  const viaAssertion = await token({ client_id: a.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
  assert.equal(viaAssertion.status, 429);

  await new Promise((r) => setTimeout(r, Math.max(0, lockedAt + retryAfter * 1000 + 300 - Date.now())));
  const later = await token({ client_id: a.clientId, client_secret: a.secret });
  assert.equal(later.status, 200, later.text);
  assert.equal(typeof later.json.access_token, 'string');
});

test('the lock is logged once as a warning with the client address; the audit log records the refused attempts as 429 temporarily_unavailable, never with a secret', () => {
  const locked = logs.filter((l) => l.event === 'token_client_auth_locked');
  assert.equal(locked.length, 1, JSON.stringify(locked));
  assert.equal(locked[0]!.client, '127.0.0.1');
  assert.equal(locked[0]!.level, 40);
  const lines = readFileSync(join(t.dir, 'vault-audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const tokenLines = lines.filter((l) => l.operation === 'TokenRequest');
  assert.ok(tokenLines.filter((l) => l.status === 401 && l.reason === 'invalid_client').length >= 3);
  assert.ok(tokenLines.some((l) => l.status === 429 && l.reason === 'temporarily_unavailable' && l.result === 'denied'));
  const all = JSON.stringify(lines) + JSON.stringify(logs);
  assert.ok(!all.includes(a.secret) && !all.includes('guess-0'));
});

test('the Azure SDK sees the lock as a 429 from the token service and gets no token', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await token({ client_id: a.clientId, client_secret: `again-${i}` })).status, 401);
  await assert.rejects(sdkClient(t, a).getSecret('anything'), (e: Error) => {
    assert.match(e.message, /^temporarily_unavailable: .*AADSTS50053: Too many failed client authentications/);
    return true;
  });
});
