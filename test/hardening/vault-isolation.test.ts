import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hashClientSecret } from '../../src/identity/apps.ts';
import { DEMO_TENANT, demoApps, demoVaultSettings } from '../../src/demo/demo-vault.ts';
import type { OperationName } from '../../src/vault/operations.ts';
import type { SecretPermission } from '../../src/vault/settings.ts';
import { httpsRequest, startTestVault, type RawAnswer, type TestVault } from '../vault/support.ts';

// Vault isolation by every operation: each of the 12 Key Vault secret operations, by each demo
// app (demo-app, demo-readonly, demo-nopolicy), on each vault — `demo` (policies), `locked`
// (firewall: 10.0.0.0/8 only) and `nobody` (a vault of the same tenant where nobody holds a
// policy) — answers exactly what the access policy and the firewall say: success, or 403
// Forbidden / ForbiddenByFirewall. Plain HTTPS with the test CA, so every operation is covered
// whatever the SDK offers. Tokens: one audience for every vault of an installation, the
// tenant bound by the issuer — so a token of another token-service tenant, or for another
// resource, is refused 401 on every vault.

const OTHER_TENANT = 'other-tenant';
const otherApp = { clientId: 'other-app', secret: 'other-app-secret', objectId: '7a000000-0000-4000-8000-00000000abcd' };

/** The demo's vault.yaml, plus a vault nobody holds a policy on and a second tenant with its own app and vault. */
function settings(): object {
  const s = demoVaultSettings() as { tokenService: { tenants: string[] }; apps: object[]; vaults: object[] };
  return {
    ...s,
    tokenService: { ...s.tokenService, tenants: [...s.tokenService.tenants, OTHER_TENANT] },
    apps: [...s.apps, { clientId: otherApp.clientId, tenant: OTHER_TENANT, displayName: otherApp.clientId, objectId: otherApp.objectId, clientSecrets: [`sha256:${hashClientSecret(otherApp.secret)}`] }],
    vaults: [
      ...s.vaults,
      { name: 'nobody', tenant: DEMO_TENANT, accessPolicies: [] },
      { name: 'foreign', tenant: OTHER_TENANT, accessPolicies: [{ objectId: otherApp.objectId, secrets: ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore', 'purge'] }] },
    ],
  };
}

/** What each app may do on each demo-tenant vault: the policy and firewall of the settings above. */
const granted: Record<string, Record<string, readonly SecretPermission[] | 'firewall'>> = {
  'demo-app': { demo: ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore', 'purge'], locked: 'firewall', nobody: [] },
  'demo-readonly': { demo: ['get', 'list'], locked: 'firewall', nobody: [] },
  'demo-nopolicy': { demo: [], locked: 'firewall', nobody: [] },
};
const VAULTS = ['demo', 'locked', 'nobody'] as const;

/** The 12 operations: the permission each needs (docs/vault.md) and the request, against fixtures made per cell. */
interface OpCase { readonly permission: SecretPermission; readonly ok: number; request(cell: string): { method: string; path: string; body?: unknown } }
const operations: Record<OperationName, OpCase> = {
  SecretSet: { permission: 'set', ok: 200, request: (c) => ({ method: 'PUT', path: `/secrets/new-${c}`, body: { value: `value of ${c}` } }) },
  SecretGet: { permission: 'get', ok: 200, request: (c) => ({ method: 'GET', path: `/secrets/live-${c}` }) },
  SecretList: { permission: 'list', ok: 200, request: () => ({ method: 'GET', path: '/secrets' }) },
  SecretListVersions: { permission: 'list', ok: 200, request: (c) => ({ method: 'GET', path: `/secrets/live-${c}/versions` }) },
  SecretUpdate: { permission: 'set', ok: 200, request: (c) => ({ method: 'PATCH', path: `/secrets/live-${c}`, body: { contentType: 'text/x-updated' } }) },
  SecretDelete: { permission: 'delete', ok: 200, request: (c) => ({ method: 'DELETE', path: `/secrets/todelete-${c}` }) },
  SecretGetDeleted: { permission: 'list', ok: 200, request: (c) => ({ method: 'GET', path: `/deletedsecrets/deleted-${c}` }) },
  SecretListDeleted: { permission: 'list', ok: 200, request: () => ({ method: 'GET', path: '/deletedsecrets' }) },
  SecretRecover: { permission: 'recover', ok: 200, request: (c) => ({ method: 'POST', path: `/deletedsecrets/torecover-${c}/recover` }) },
  SecretPurge: { permission: 'purge', ok: 204, request: (c) => ({ method: 'DELETE', path: `/deletedsecrets/topurge-${c}` }) },
  SecretBackup: { permission: 'backup', ok: 200, request: (c) => ({ method: 'POST', path: `/secrets/live-${c}/backup` }) },
  SecretRestore: { permission: 'restore', ok: 200, request: () => ({ method: 'POST', path: '/secrets/restore', body: { value: backupBlob } }) },
};

let vault: TestVault;
let backupBlob = '';
const tokens = new Map<string, string>();

const hostOf = (name: string) => `${name}.vault.localhost:${new URL(vault.url).port}`;

async function kv(token: string | null, vaultName: string, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  return httpsRequest(vault, `${vault.url}${path}?api-version=7.5`, {
    method,
    headers: { host: hostOf(vaultName), ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function token(tenant: string, clientId: string, secret: string, scope = 'https://vault.localhost/.default'): Promise<RawAnswer> {
  return httpsRequest(vault, `${vault.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope }).toString(),
  });
}

const cellName = (app: string, vaultName: string) => `${app}-${vaultName}`.replace(/[^a-z0-9-]/g, '');

before(async () => {
  vault = await startTestVault(settings());
  for (const a of demoApps) {
    const t = await token(DEMO_TENANT, a.clientId, a.secret);
    assert.equal(t.status, 200, t.text);
    tokens.set(a.clientId, t.json.access_token as string);
  }
  // Fixtures in the store itself (the locked and nobody vaults accept no one over HTTP): in
  // every vault, per app, a live secret, a deleted one, and ones to delete, recover and purge.
  const store = vault.vault.store;
  const now = Math.floor(Date.now() / 1000);
  const attrs = { enabled: true, nbf: null, exp: null, contentType: null, tags: null };
  let v = 0;
  const put = (vaultName: string, name: string) => store.setSecret(vaultName, name, `v${String(++v).padStart(31, '0')}`, `value of ${name}`, attrs, now);
  for (const vaultName of VAULTS) {
    for (const a of demoApps) {
      const c = cellName(a.clientId, vaultName);
      for (const prefix of ['live', 'todelete', 'deleted', 'torecover', 'topurge']) put(vaultName, `${prefix}-${c}`);
      for (const prefix of ['deleted', 'torecover', 'topurge']) assert.ok(store.deleteSecret(vaultName, `${prefix}-${c}`, now, 90));
    }
  }
  // One backup blob, of a secret that no longer exists anywhere: restoring it is possible once.
  const app = tokens.get('demo-app')!;
  assert.equal((await kv(app, 'demo', 'PUT', '/secrets/restorable', { value: 'restorable value' })).status, 200);
  const b = await kv(app, 'demo', 'POST', '/secrets/restorable/backup');
  assert.equal(b.status, 200, b.text);
  backupBlob = b.json.value as string;
  assert.equal((await kv(app, 'demo', 'DELETE', '/secrets/restorable')).status, 200);
  assert.equal((await kv(app, 'demo', 'DELETE', '/deletedsecrets/restorable')).status, 204);
});
after(async () => { await vault.close(); });

test('each of the 12 secret operations x 3 demo apps x 3 vaults answers exactly what the policy and the firewall say', async () => {
  assert.equal(Object.keys(operations).length, 12, 'every operation of src/vault/operations.ts');
  const failures: string[] = [];
  const tally = { success: 0, forbidden: 0, firewall: 0 };
  for (const vaultName of VAULTS) {
    for (const a of demoApps) {
      const rights = granted[a.clientId]![vaultName]!;
      const c = cellName(a.clientId, vaultName);
      for (const [name, op] of Object.entries(operations) as [OperationName, OpCase][]) {
        const r = op.request(c);
        const answer = await kv(tokens.get(a.clientId)!, vaultName, r.method, r.path, r.body);
        const where = `${name} (${r.method} ${r.path}) by ${a.clientId} on vault ${vaultName}`;
        const err = (answer.json.error ?? {}) as { code?: string; innererror?: { code?: string } };
        if (rights === 'firewall') {
          tally.firewall++;
          if (answer.status !== 403 || err.code !== 'ForbiddenByFirewall') failures.push(`${where}: expected 403 ForbiddenByFirewall, got ${answer.status} ${answer.text.slice(0, 200)}`);
        } else if (rights.includes(op.permission)) {
          tally.success++;
          if (answer.status !== op.ok) failures.push(`${where}: the policy grants ${op.permission}, expected ${op.ok}, got ${answer.status} ${answer.text.slice(0, 200)}`);
        } else {
          tally.forbidden++;
          if (answer.status !== 403 || err.code !== 'Forbidden' || err.innererror?.code !== 'AccessDenied') failures.push(`${where}: expected 403 Forbidden/AccessDenied, got ${answer.status} ${answer.text.slice(0, 200)}`);
          else if (!String((err as { message?: string }).message ?? '').includes(`secrets ${op.permission} permission on key vault '${vaultName};`)) failures.push(`${where}: the refusal names the permission and vault: ${answer.text.slice(0, 200)}`);
        }
      }
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${12 * 9} calls failed`);
  assert.deepEqual(tally, { success: 12 + 5, forbidden: 7 + 12 + 12 * 3, firewall: 36 });
  // Nothing a refused call aimed at changed: the fixtures of the refused cells are as made.
  const store = vault.vault.store;
  for (const vaultName of VAULTS) {
    for (const a of demoApps) {
      const c = cellName(a.clientId, vaultName);
      const writable = granted[a.clientId]![vaultName] !== 'firewall' && (granted[a.clientId]![vaultName] as readonly string[]).includes('set');
      if (writable) continue;
      assert.equal(store.nameState(vaultName, `new-${c}`), 'absent', `${c}: no refused set created a secret`);
      assert.equal(store.nameState(vaultName, `todelete-${c}`), 'live', `${c}: no refused delete`);
      assert.equal(store.nameState(vaultName, `torecover-${c}`), 'deleted', `${c}: no refused recover`);
      assert.equal(store.nameState(vaultName, `topurge-${c}`), 'deleted', `${c}: no refused purge`);
      assert.equal(store.getVersion(vaultName, `live-${c}`, null)?.contentType ?? null, null, `${c}: no refused update`);
    }
  }
  assert.equal(store.nameState('nobody', 'restorable'), 'absent', 'no refused restore into another vault');
});

test('a token is bound to its token-service tenant and resource: another tenant\'s or resource\'s token is refused 401 on every vault', async () => {
  const other = await token(OTHER_TENANT, otherApp.clientId, otherApp.secret);
  assert.equal(other.status, 200, other.text);
  const otherToken = other.json.access_token as string;
  // The other tenant's app on its own vault: the token works there, so the refusals below are about the vault's tenant.
  assert.equal((await kv(otherToken, 'foreign', 'PUT', '/secrets/mine', { value: 'x' })).status, 200);
  const management = await token(DEMO_TENANT, 'demo-app', 'demo-app-secret', 'https://management.localhost/.default');
  assert.equal(management.status, 200, 'the token service issues tokens for its extra resources');
  const cases: { who: string; token: string; vaults: readonly string[]; message: RegExp }[] = [
    { who: 'other-tenant app', token: otherToken, vaults: VAULTS, message: /issuer/i },
    { who: 'demo-app (demo-tenant)', token: tokens.get('demo-app')!, vaults: ['foreign'], message: /issuer/i },
    { who: 'demo-app, token for https://management.localhost', token: management.json.access_token as string, vaults: [...VAULTS, 'foreign'], message: /AKV10022: Invalid audience/ },
  ];
  let refusals = 0;
  for (const c of cases) {
    for (const vaultName of c.vaults) {
      for (const [name, op] of Object.entries(operations) as [OperationName, OpCase][]) {
        const r = op.request(cellName('demo-app', vaultName));
        const answer = await kv(c.token, vaultName, r.method, r.path, r.body);
        refusals++;
        assert.equal(answer.status, 401, `${name} by ${c.who} on vault ${vaultName}: 401, got ${answer.status} ${answer.text.slice(0, 200)}`);
        assert.equal((answer.json.error as { code?: string }).code, 'Unauthorized');
        assert.match(String((answer.json.error as { message?: string }).message), c.message, `${name} by ${c.who} on ${vaultName}`);
        assert.match(String(answer.headers['www-authenticate']), /^Bearer authorization="https:\/\/[^"]+\/[^"]+", resource="https:\/\/vault\.localhost"/);
      }
    }
  }
  assert.equal(refusals, 12 * (3 + 1 + 4));
  assert.equal(vault.vault.store.nameState('demo', 'mine'), 'absent', 'the other tenant wrote nothing into demo');
});
