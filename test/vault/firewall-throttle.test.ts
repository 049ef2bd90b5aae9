import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allPermissions, app, fetchToken, httpsRequest, sdkClient, settingsFor, startTestVault, TENANT } from './support.ts';

const user = app('fw-user');
const trusted = app('fw-trusted-service', { trustedService: true });
const full = [{ objectId: user.objectId, secrets: allPermissions }, { objectId: trusted.objectId, secrets: allPermissions }];

const firewalled = (ipRules: string[], bypass: 'AzureServices' | 'None' = 'AzureServices') => settingsFor([user, trusted], [
  { name: 'locked', tenant: TENANT, accessPolicies: full, firewall: { defaultAction: 'Deny', ipRules, bypass } },
]);

test('a firewall that allows only 10.0.0.0/8 refuses loopback with 403 ForbiddenByFirewall and Key Vault\'s message', async () => {
  const t = await startTestVault(firewalled(['10.0.0.0/8']));
  try {
    await assert.rejects(sdkClient(t, user).getSecret('anything'), (e: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(e.statusCode, 403);
      assert.equal(e.code, 'ForbiddenByFirewall');
      assert.match(e.message, /^Client address \(127\.0\.0\.1\) is not authorized and caller is not a trusted service/);
      assert.match(e.message, /Caller: appid=fw-user;oid=/);
      return true;
    });
  } finally { await t.close(); }
});

test('a rule that contains the client address lets the request through', async () => {
  const t = await startTestVault(firewalled(['10.0.0.0/8', '127.0.0.0/8']));
  try {
    assert.equal((await sdkClient(t, user).setSecret('inside', 'ok')).value, 'ok');
  } finally { await t.close(); }
});

test('a trusted service passes the firewall when the bypass is AzureServices, and not when it is None', async () => {
  const t = await startTestVault(firewalled(['10.0.0.0/8']));
  try {
    assert.equal((await sdkClient(t, trusted).setSecret('bypassed', 'ok')).value, 'ok');
    t.rewrite(firewalled(['10.0.0.0/8'], 'None'));
    await assert.rejects(sdkClient(t, trusted).getSecret('bypassed'), (e: { statusCode?: number; code?: string }) => e.statusCode === 403 && e.code === 'ForbiddenByFirewall');
  } finally { await t.close(); }
});

test('vaults are chosen by host name: <name>.vault.localhost reaches that vault and its firewall', async () => {
  const t = await startTestVault(settingsFor([user], [
    { name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: user.objectId, secrets: allPermissions }] },
    { name: 'locked', tenant: TENANT, accessPolicies: [{ objectId: user.objectId, secrets: allPermissions }], firewall: { defaultAction: 'Deny', ipRules: ['10.0.0.0/8'] } },
  ]));
  try {
    await sdkClient(t, user).setSecret('where', 'demo vault');
    const token = (await fetchToken(t, user)).json.access_token as string;
    const port = new URL(t.url).port;
    const demo = await httpsRequest(t, `${t.url}/secrets/where?api-version=7.5`, { headers: { authorization: `Bearer ${token}`, host: `demo.vault.localhost:${port}` } });
    assert.equal(demo.status, 200);
    assert.equal(demo.json.id?.toString().startsWith(`https://demo.vault.localhost:${port}/secrets/where/`), true);
    const locked = await httpsRequest(t, `${t.url}/secrets/where?api-version=7.5`, { headers: { authorization: `Bearer ${token}`, host: `locked.vault.localhost:${port}` } });
    assert.equal(locked.status, 403);
    assert.equal((locked.json.error as { code: string }).code, 'ForbiddenByFirewall');
    const none = await httpsRequest(t, `${t.url}/secrets/where?api-version=7.5`, { headers: { authorization: `Bearer ${token}`, host: `nope.vault.localhost:${port}` } });
    assert.equal(none.status, 404);
  } finally { await t.close(); }
});

test('past the read limit the SDK gets 429 Throttled with Retry-After; after that many seconds reads succeed again', async () => {
  const t = await startTestVault(settingsFor([user], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: user.objectId, secrets: allPermissions }], throttle: { read: { requests: 3, windowSeconds: 2 } } }]));
  try {
    const client = sdkClient(t, user);
    await client.setSecret('hot', 'x');
    for (let i = 0; i < 3; i++) await client.getSecret('hot');
    let retryAfter = 0;
    await assert.rejects(client.getSecret('hot'), (e: { statusCode?: number; code?: string; response?: { headers: { get(n: string): string | undefined } } }) => {
      assert.equal(e.statusCode, 429);
      assert.equal(e.code, 'Throttled');
      retryAfter = Number(e.response?.headers.get('retry-after'));
      return true;
    });
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    // Writes are a separate class: still allowed while reads are throttled.
    await client.setSecret('hot', 'y');
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    assert.equal((await client.getSecret('hot')).value, 'y');
  } finally { await t.close(); }
});

test('the SDK\'s own retry honours Retry-After and succeeds once the window frees', async () => {
  const t = await startTestVault(settingsFor([user], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: user.objectId, secrets: allPermissions }], throttle: { read: { requests: 1, windowSeconds: 1 } } }]));
  try {
    const client = sdkClient(t, user, { maxRetries: 3 });
    await client.setSecret('retry', 'eventually');
    await client.getSecret('retry');
    const started = Date.now();
    assert.equal((await client.getSecret('retry')).value, 'eventually');
    assert.ok(Date.now() - started >= 200, 'the second read waited for the window');
  } finally { await t.close(); }
});
