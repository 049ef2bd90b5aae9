import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SecretClient } from '@azure/keyvault-secrets';
import { allPermissions, app, httpsRequest, fetchToken, sdkClient, settingsFor, startTestVault, TENANT, type TestVault } from './support.ts';

// Every secrets operation through the official Azure SDK (ClientSecretCredential against our
// token service, SecretClient against our vault), over HTTPS with a CA made for the test.

const a = app('ops-app');
let t: TestVault;
let client: SecretClient;
before(async () => {
  t = await startTestVault(settingsFor([a], [{ name: 'demo', tenant: TENANT, softDeleteRetentionDays: 7, accessPolicies: [{ objectId: a.objectId, secrets: allPermissions }] }]));
  client = sdkClient(t, a);
});
after(async () => { await t.close(); });

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => { const out: T[] = []; for await (const x of it) out.push(x); return out; };

test('set then get returns the value, with an id rooted at the vault host and attributes in the SDK\'s types', async () => {
  const set = await client.setSecret('db-password', 's3cr3t!', { contentType: 'text/plain', tags: { env: 'test' } });
  assert.equal(set.value, 's3cr3t!');
  assert.match(set.properties.id!, new RegExp(`^${t.url}/secrets/db-password/[0-9a-f]{32}$`));
  assert.equal(set.properties.recoveryLevel, 'CustomizedRecoverable+Purgeable');
  assert.equal(set.properties.recoverableDays, 7);
  const got = await client.getSecret('db-password');
  assert.equal(got.value, 's3cr3t!');
  assert.equal(got.properties.contentType, 'text/plain');
  assert.deepEqual(got.properties.tags, { env: 'test' });
  assert.ok(got.properties.createdOn instanceof Date && Math.abs(got.properties.createdOn.getTime() - Date.now()) < 60_000);
});

test('a second set makes a new version; get by version returns the old value and list versions shows both', async () => {
  const v1 = await client.setSecret('rotating', 'one');
  const v2 = await client.setSecret('rotating', 'two');
  assert.notEqual(v1.properties.version, v2.properties.version);
  assert.equal((await client.getSecret('rotating')).value, 'two');
  assert.equal((await client.getSecret('rotating', { version: v1.properties.version! })).value, 'one');
  const versions = await collect(client.listPropertiesOfSecretVersions('rotating'));
  assert.deepEqual(versions.map((v) => v.version).sort(), [v1.properties.version, v2.properties.version].sort());
});

test('list pages with maxresults and nextLink until every secret is seen, without values', async () => {
  for (const n of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) await client.setSecret(n, `value-${n}`);
  const pages: string[][] = [];
  for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) pages.push(page.map((p) => p.name));
  assert.ok(pages.length >= 3, `expected several pages, got ${pages.length}`);
  assert.ok(pages.every((p) => p.length <= 2));
  const names = pages.flat();
  for (const n of ['page-a', 'page-b', 'page-c', 'page-d', 'page-e']) assert.ok(names.includes(n));
  assert.equal(new Set(names).size, names.length, 'no secret twice across pages');
});

test('the raw list answer has a value array, SecretItem ids without version and a nextLink', async () => {
  const token = (await fetchToken(t, a)).json.access_token as string;
  const r = await httpsRequest(t, `${t.url}/secrets?api%2Dversion=7.5&maxresults=1`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const items = r.json.value as { id: string; value?: string; attributes: { created: number } }[];
  assert.equal(items.length, 1);
  assert.match(items[0]!.id, new RegExp(`^${t.url}/secrets/[A-Za-z0-9-]+$`));
  assert.equal(items[0]!.value, undefined);
  assert.equal(typeof items[0]!.attributes.created, 'number');
  assert.match(r.json.nextLink as string, /\$skiptoken=.*maxresults=1/);
  const bad = await httpsRequest(t, `${t.url}/secrets?api-version=7.5&maxresults=26`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(bad.status, 400);
  assert.equal((bad.json.error as { code: string }).code, 'BadParameter');
});

test('update changes enabled, contentType and tags; a disabled secret cannot be read', async () => {
  const s = await client.setSecret('toggle', 'v');
  const u = await client.updateSecretProperties('toggle', s.properties.version!, { enabled: false, contentType: 'application/x-test', tags: { owner: 'me' } });
  assert.equal(u.enabled, false);
  assert.equal(u.contentType, 'application/x-test');
  assert.deepEqual(u.tags, { owner: 'me' });
  await assert.rejects(client.getSecret('toggle'), (e: { statusCode?: number; code?: string }) => e.statusCode === 403 && e.code === 'Forbidden');
  await client.updateSecretProperties('toggle', s.properties.version!, { enabled: true });
  assert.equal((await client.getSecret('toggle')).value, 'v');
});

test('delete is soft: the deleted secret is listed with recoveryId and purge date, and recover brings it back', async () => {
  await client.setSecret('soft', 'keep-me');
  const poller = await client.beginDeleteSecret('soft', { intervalInMs: 20 });
  const deleted = await poller.pollUntilDone();
  assert.equal(deleted.recoveryId, `${t.url}/deletedsecrets/soft`);
  assert.ok(deleted.deletedOn instanceof Date);
  assert.ok(deleted.scheduledPurgeDate instanceof Date);
  assert.equal(Math.round((deleted.scheduledPurgeDate.getTime() - deleted.deletedOn.getTime()) / 86_400_000), 7);
  await assert.rejects(client.getSecret('soft'), (e: { statusCode?: number; code?: string }) => e.statusCode === 404 && e.code === 'SecretNotFound');
  await assert.rejects(client.setSecret('soft', 'reuse'), (e: { statusCode?: number }) => e.statusCode === 409);
  const got = await client.getDeletedSecret('soft');
  assert.equal(got.name, 'soft');
  const listed = await collect(client.listDeletedSecrets());
  assert.ok(listed.some((d) => d.name === 'soft' && d.properties.recoveryId === `${t.url}/deletedsecrets/soft`));
  const recover = await client.beginRecoverDeletedSecret('soft', { intervalInMs: 20 });
  await recover.pollUntilDone();
  assert.equal((await client.getSecret('soft')).value, 'keep-me');
});

test('purge removes a deleted secret for good (204) and the name can be reused', async () => {
  await client.setSecret('gone', 'bye');
  await (await client.beginDeleteSecret('gone', { intervalInMs: 20 })).pollUntilDone();
  await client.purgeDeletedSecret('gone');
  await assert.rejects(client.getDeletedSecret('gone'), (e: { statusCode?: number }) => e.statusCode === 404);
  const again = await client.setSecret('gone', 'hello again');
  assert.equal(again.value, 'hello again');
  assert.equal((await collect(client.listPropertiesOfSecretVersions('gone'))).length, 1);
});

test('backup gives an opaque blob without the value in it; restore after purge brings back every version', async () => {
  await client.setSecret('backed', 'first-value');
  await client.setSecret('backed', 'second-value');
  const blob = await client.backupSecret('backed');
  assert.ok(blob && blob.length > 0);
  assert.ok(!Buffer.from(blob).toString('latin1').includes('second-value'), 'the blob is sealed');
  await assert.rejects(client.restoreSecretBackup(blob), (e: { statusCode?: number }) => e.statusCode === 409);
  await (await client.beginDeleteSecret('backed', { intervalInMs: 20 })).pollUntilDone();
  await client.purgeDeletedSecret('backed');
  const restored = await client.restoreSecretBackup(blob);
  assert.equal(restored?.name, 'backed');
  assert.equal((await client.getSecret('backed')).value, 'second-value');
  assert.equal((await collect(client.listPropertiesOfSecretVersions('backed'))).length, 2);
});

test('a corrupt backup blob gets 400 BadParameter', async () => {
  await assert.rejects(client.restoreSecretBackup(new Uint8Array([1, 2, 3, 4])), (e: { statusCode?: number; code?: string }) => e.statusCode === 400 && e.code === 'BadParameter');
});

test('secret names are case-insensitive, as in Key Vault', async () => {
  await client.setSecret('MixedCase', 'm');
  assert.equal((await client.getSecret('mixedcase')).value, 'm');
});

test('get latest with a trailing slash and an encoded api-version key is understood', async () => {
  const token = (await fetchToken(t, a)).json.access_token as string;
  await client.setSecret('slash', 'ok');
  const r = await httpsRequest(t, `${t.url}/secrets/slash/?api%2Dversion=7.4`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.equal(r.json.value, 'ok');
  const missing = await httpsRequest(t, `${t.url}/secrets/slash`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(missing.status, 400);
  assert.equal((missing.json.error as { code: string }).code, 'BadParameter');
});

test('an invalid secret name or body gets 400 in Key Vault\'s error shape', async () => {
  const token = (await fetchToken(t, a)).json.access_token as string;
  const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const name = await httpsRequest(t, `${t.url}/secrets/bad_name?api-version=7.5`, { method: 'PUT', headers: h, body: '{"value":"x"}' });
  assert.equal(name.status, 400);
  const body = await httpsRequest(t, `${t.url}/secrets/ok-name?api-version=7.5`, { method: 'PUT', headers: h, body: '{"value":' });
  assert.equal(body.status, 400);
  const noValue = await httpsRequest(t, `${t.url}/secrets/ok-name?api-version=7.5`, { method: 'PUT', headers: h, body: '{"contentType":"x"}' });
  assert.deepEqual(Object.keys(noValue.json.error as object).sort(), ['code', 'message']);
});
