import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { VaultAttachment } from '../../src/vault/vault-attachment.ts';
import { call, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { allPermissions, app, fetchToken, httpsRequest, settingsFor, startTestVault, type TestVault } from '../vault/support.ts';
import { startTenancyEnv, tenancyConfig, tokens } from './support.ts';

// GET /v1/vaults and /v1/vaults/{name} against a real vault (HTTPS, token service) whose
// reader is attached to a real admin listener: every role over real HTTP, and no answer ever
// carries a secret value.

const SECRET_VALUE = 'the-value-nobody-may-see-7f3a9c';
const writer = app('vt-writer');
const reader = app('vt-reader');
const stranger = app('vt-stranger');

let vault: TestVault;
let upstream: TestUpstream;
let gw: TestGateway;
let admin: AdminServer;
const ajv = new Ajv2020({ strict: false, allErrors: true });
let doc: { paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: object }> }> }>> };

const adm = (path: string, token: string | null) => call(`${admin.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

function documented(template: string, a: Answer): void {
  const op = doc.paths[template]!.get!;
  const r = op.responses[String(a.status)] ?? op.responses.default!;
  const schema = (r.content['application/json'] ?? r.content['application/problem+json'])!.schema;
  const validate = ajv.compile(schema);
  assert.ok(validate(a.json), `${template} ${a.status}: ${ajv.errorsText(validate.errors)}`);
}

async function getSecret(as: typeof writer, name: string, host?: string): Promise<number> {
  const t = await fetchToken(vault, as);
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const res = await httpsRequest(vault, `${vault.url}/secrets/${name}?api-version=7.5`, { headers: { authorization: `Bearer ${String(t.json.access_token)}`, ...(host ? { host } : {}) } });
  return res.status;
}

before(async () => {
  vault = await startTestVault(settingsFor([writer, reader, stranger], [
    { name: 'alpha', tenant: 'test-tenant', adminTenant: 'acme', softDeleteRetentionDays: 7, purgeProtection: true, accessPolicies: [
      { objectId: writer.objectId, secrets: allPermissions }, { objectId: reader.objectId, secrets: ['get', 'list'] }] },
    { name: 'fenced', tenant: 'test-tenant', accessPolicies: [{ objectId: writer.objectId, secrets: allPermissions }],
      firewall: { defaultAction: 'Deny', ipRules: ['10.0.0.0/8'] }, throttle: { read: { requests: 50, windowSeconds: 5 } } },
  ], { defaultVault: 'alpha' }));
  const now = Math.floor(Date.now() / 1000);
  const attrs = { enabled: true, nbf: null, exp: null, contentType: 'text/plain', tags: null };
  vault.vault.store.setSecret('alpha', 'db-password', 'v1', 'old-value-1', attrs, now);
  vault.vault.store.setSecret('alpha', 'db-password', 'v2', SECRET_VALUE, attrs, now);
  vault.vault.store.setSecret('alpha', 'retired', 'r1', 'retired-value', attrs, now);
  vault.vault.store.deleteSecret('alpha', 'retired', now, 7);
  assert.equal(await getSecret(reader, 'db-password'), 200);
  assert.equal(await getSecret(stranger, 'db-password'), 403);
  assert.equal(await getSecret(writer, 'db-password', `fenced.vault.localhost:${vault.vault.port}`), 403);
  upstream = await startUpstream();
  gw = await startTestGateway(tenancyConfig(upstream.url));
  const vaults = new VaultAttachment();
  vaults.attach({ settings: vault.vault.current, store: vault.vault.store, audit: vault.vault.audit });
  admin = await startAdminServer({ gateway: gw.gateway, databaseFile: gw.databaseFile, tokens: gw.gateway.current().raw.admin!.tokens, port: 0, logger: silentLogger, vaults });
  doc = await (await fetch(`${admin.url}/openapi.json`)).json() as typeof doc;
});
after(async () => { await admin?.close(); await gw?.close(); await upstream?.close(); await vault?.close(); });

describe('the vaults of the admin API', () => {
  test('an operator lists every vault with its firewall and counts of policies and secrets', async () => {
    const a = await adm('/v1/vaults', tokens.operator);
    assert.equal(a.status, 200, a.text);
    documented('/v1/vaults', a);
    assert.equal(a.json.attached, true);
    const items = a.json.items as { name: string; accessPolicies: number; secrets: number; deletedSecrets: number; firewall: { defaultAction: string; ipRules: string[] } }[];
    assert.deepEqual(items.map((v) => v.name), ['alpha', 'fenced']);
    assert.deepEqual([items[0]!.accessPolicies, items[0]!.secrets, items[0]!.deletedSecrets], [2, 1, 1]);
    assert.deepEqual(items[1]!.firewall.ipRules, ['10.0.0.0/8']);
    assert.equal(items[1]!.firewall.defaultAction, 'Deny');
  });

  test('a vault\'s page shows policies per app, soft delete, throttle, secret names with version counts and refusals in its audit', async () => {
    const a = await adm('/v1/vaults/alpha', tokens.auditor);
    assert.equal(a.status, 200, a.text);
    documented('/v1/vaults/{name}', a);
    const v = a.json.item as Record<string, any>;
    assert.deepEqual(v.policies.map((p: { app: string; permissions: string[] }) => [p.app, p.permissions.join(',')]), [['vt-writer', allPermissions.join(',')], ['vt-reader', 'get,list']]);
    assert.deepEqual(v.softDelete, { retentionDays: 7, purgeProtection: true, recoveryLevel: 'CustomizedRecoverable' });
    assert.deepEqual(v.throttle.read, { requests: 4000, windowSeconds: 10 });
    assert.deepEqual(v.secretList.map((s: { name: string; versions: number; deletedAt: number | null }) => [s.name, s.versions, s.deletedAt !== null]), [['db-password', 2, false], ['retired', 1, true]]);
    const audit = v.audit as { operation: string; app: string | null; result: string; reason: string | null; secretName: string | null }[];
    assert.ok(audit.some((e) => e.app === 'vt-reader' && e.operation === 'SecretGet' && e.secretName === 'db-password' && e.result === 'success'), JSON.stringify(audit));
    assert.ok(audit.some((e) => e.app === 'vt-stranger' && e.result === 'denied' && e.reason === 'vault_no_access_policy'), JSON.stringify(audit));
    assert.ok(audit.every((e) => e.operation !== 'TokenRequest'), 'token requests belong to no vault');
    const fenced = (await adm('/v1/vaults/fenced', tokens.operator)).json.item as { throttle: { read: object }; audit: { reason: string | null }[] };
    assert.deepEqual(fenced.throttle.read, { requests: 50, windowSeconds: 5 });
    assert.ok(fenced.audit.some((e) => e.reason === 'vault_firewall_denied'));
  });

  test('no answer carries a secret value, current or old', async () => {
    for (const path of ['/v1/vaults', '/v1/vaults/alpha', '/v1/vaults/alpha?audit=500', '/v1/vaults/fenced']) {
      const a = await adm(path, tokens.operator);
      assert.equal(a.status, 200);
      for (const value of [SECRET_VALUE, 'old-value-1', 'retired-value']) assert.ok(!a.text.includes(value), `${path} leaks ${value}`);
    }
  });

  test('a tenant admin sees only the vault its tenant is named admin of, and 404 for the others', async () => {
    const acme = await adm('/v1/vaults', tokens.acme);
    assert.deepEqual((acme.json.items as { name: string }[]).map((v) => v.name), ['alpha']);
    assert.equal((await adm('/v1/vaults/alpha', tokens.acme)).status, 200);
    const hidden = await adm('/v1/vaults/fenced', tokens.acme);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.json.code, 'admin_not_found');
    documented('/v1/vaults/{name}', hidden);
    assert.deepEqual((await adm('/v1/vaults', tokens.globex)).json.items, []);
    assert.equal((await adm('/v1/vaults/alpha', tokens.globex)).status, 404);
  });

  test('bad input and missing credentials are problems with reason codes', async () => {
    const bad = await adm('/v1/vaults/alpha?audit=lots', tokens.operator);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'admin_invalid_request');
    assert.equal((await adm('/v1/vaults/nope', tokens.operator)).json.code, 'admin_not_found');
    const malformed = await adm('/v1/vaults/%ZZ', tokens.operator);
    assert.equal(malformed.status, 400, 'a malformed escape in the path is the caller\'s mistake, not a 500');
    assert.equal(malformed.json.code, 'admin_invalid_request');
    const anon = await adm('/v1/vaults', null);
    assert.equal(anon.status, 401);
    assert.equal(anon.json.code, 'admin_unauthenticated');
  });
});

test('an admin listener without a vault lists none and answers 404 for a name, not an error', async () => {
  const env = await startTenancyEnv();
  try {
    const list = await env.adm('GET', '/v1/vaults', tokens.operator);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, { attached: false, items: [] });
    const one = await env.adm('GET', '/v1/vaults/demo', tokens.auditor);
    assert.equal(one.status, 404);
    assert.match(one.json.detail as string, /no vault runs in this process/);
  } finally {
    await env.close();
  }
});
