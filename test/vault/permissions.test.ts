import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { SecretPermission } from '../../src/vault/settings.ts';
import { allPermissions, app, fetchToken, httpsRequest, sdkClient, settingsFor, startTestVault, TENANT, type TestVault } from './support.ts';

// Each secret permission taken away on its own: the operation that needs it gets 403
// vault_permission_missing (Key Vault's Forbidden/AccessDenied), the others still work.

const admin = app('perm-admin');
const subject = app('perm-subject');
let t: TestVault;
let adminClient: SecretClient;
let subjectClient: SecretClient;
let blob: Uint8Array;

const settings = (granted: SecretPermission[]) => settingsFor([admin, subject], [{
  name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: admin.objectId, secrets: allPermissions }, { objectId: subject.objectId, secrets: granted }],
}]);

before(async () => {
  t = await startTestVault(settings(allPermissions));
  adminClient = sdkClient(t, admin);
  subjectClient = sdkClient(t, subject);
  await adminClient.setSecret('present', 'p');
  await adminClient.setSecret('to-restore', 'r');
  blob = (await adminClient.backupSecret('to-restore'))!;
  await (await adminClient.beginDeleteSecret('to-restore', { intervalInMs: 20 })).pollUntilDone();
  await adminClient.purgeDeletedSecret('to-restore');
});
after(async () => { await t.close(); });

async function prepareDeleted(name: string): Promise<void> {
  await adminClient.setSecret(name, 'd');
  await (await adminClient.beginDeleteSecret(name, { intervalInMs: 20 })).pollUntilDone();
}

const operations: Record<SecretPermission, () => Promise<unknown>> = {
  get: () => subjectClient.getSecret('present'),
  list: async () => { for await (const page of subjectClient.listPropertiesOfSecrets().byPage()) return page; },
  set: () => subjectClient.setSecret('new-one', 'n'),
  delete: async () => { await adminClient.setSecret('deletable', 'x'); return (await subjectClient.beginDeleteSecret('deletable', { intervalInMs: 20 })).pollUntilDone(); },
  recover: async () => { await prepareDeleted('recoverable'); return subjectClient.beginRecoverDeletedSecret('recoverable', { intervalInMs: 20 }); },
  backup: () => subjectClient.backupSecret('present'),
  restore: () => subjectClient.restoreSecretBackup(blob),
  purge: async () => { await prepareDeleted('purgeable'); return subjectClient.purgeDeletedSecret('purgeable'); },
};

for (const missing of allPermissions) {
  test(`without "${missing}" the operation that needs it gets 403 naming that permission, and "get" decides by policy alone`, async () => {
    t.rewrite(settings(allPermissions.filter((p) => p !== missing)));
    await assert.rejects(operations[missing](), (e: { statusCode?: number; code?: string; message: string; response?: { bodyAsText?: string } }) => {
      assert.equal(e.statusCode, 403);
      // The pager reports "Pagination failed with unexpected statusCode 403" and keeps the vault's body on the response.
      const said = `${e.message} ${e.response?.bodyAsText ?? ''}`;
      assert.ok(e.code === 'Forbidden' || said.includes('"code":"Forbidden"'), `Key Vault's Forbidden code, got ${e.code}`);
      if (missing !== 'list') assert.match(said, new RegExp(`does not have secrets ${missing} permission on key vault 'demo;location=local'`));
      return true;
    });
    if (missing === 'list') {
      // The SDK's pager drops the body from its error; the same call made raw shows it.
      const token = (await fetchToken(t, subject)).json.access_token as string;
      const raw = await httpsRequest(t, `${t.url}/secrets?api-version=7.5`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(raw.status, 403);
      assert.match((raw.json.error as { message: string }).message, /does not have secrets list permission on key vault 'demo;location=local'/);
      assert.equal((raw.json.error as { innererror: { code: string } }).innererror.code, 'AccessDenied');
    }
    if (missing !== 'get') assert.equal((await subjectClient.getSecret('present')).value, 'p');
    // Leave no soft-deleted leftovers that would make the next round's setup conflict.
    for (const n of ['recoverable', 'purgeable', 'deletable']) {
      try { await adminClient.purgeDeletedSecret(n); } catch { /* not deleted */ }
      try { await (await adminClient.beginDeleteSecret(n, { intervalInMs: 20 })).pollUntilDone(); await adminClient.purgeDeletedSecret(n); } catch { /* absent */ }
    }
  });
}

test('with every permission granted back, each operation succeeds for the same identity', async () => {
  t.rewrite(settings(allPermissions));
  for (const p of allPermissions) {
    if (p === 'restore') {
      try { await (await adminClient.beginDeleteSecret('to-restore', { intervalInMs: 20 })).pollUntilDone(); await adminClient.purgeDeletedSecret('to-restore'); } catch { /* absent */ }
    }
    await operations[p]();
  }
});
