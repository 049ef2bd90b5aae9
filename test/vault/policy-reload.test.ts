import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { startVaultServer } from '../../src/vault/vault-server.ts';
import { allPermissions, app, fetchToken, httpsRequest, settingsFor, TENANT, testTls } from './support.ts';

const owner = app('reload-owner');
const late = app('reload-late');

test('an access policy added to vault.yaml applies within 2 s, and the new policy version is stamped on decisions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-reload-'));
  const settingsFile = join(dir, 'vault.yaml');
  const settings = (withLate: boolean) => settingsFor([owner, late], [{ name: 'demo', tenant: TENANT, accessPolicies: [
    { objectId: owner.objectId, secrets: allPermissions }, ...(withLate ? [{ objectId: late.objectId, secrets: ['get'] }] : []),
  ] }]);
  writeFileSync(settingsFile, stringify(settings(false)));
  const tls = await testTls();
  const vault = await startVaultServer({ settingsFile, databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'audit.log'), masterKey: randomBytes(32), tls, port: 0, callLog: null });
  const t = { url: vault.url, caPem: tls.caPem };
  try {
    const ownerToken = (await fetchToken(t as never, owner)).json.access_token as string;
    const lateToken = (await fetchToken(t as never, late)).json.access_token as string;
    await httpsRequest(t, `${vault.url}/secrets/s?api-version=7.5`, { method: 'PUT', headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' }, body: '{"value":"v"}' });
    const get = () => httpsRequest(t, `${vault.url}/secrets/s?api-version=7.5`, { headers: { authorization: `Bearer ${lateToken}` } });
    assert.equal((await get()).status, 403);
    assert.equal(vault.current().version, 1);
    const changed = Date.now();
    writeFileSync(settingsFile, stringify(settings(true)));
    let status = 0;
    while (Date.now() - changed < 5000) {
      status = (await get()).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const tookMs = Date.now() - changed;
    assert.equal(status, 200);
    assert.ok(tookMs < 2000, `the policy applied after ${tookMs} ms`);
    assert.equal(vault.current().version, 2);
  } finally {
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken vault.yaml is rejected and the previous policies stay in force', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-reload-'));
  const settingsFile = join(dir, 'vault.yaml');
  writeFileSync(settingsFile, stringify(settingsFor([owner], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: owner.objectId, secrets: ['get'] }] }])));
  const tls = await testTls();
  const vault = await startVaultServer({ settingsFile, databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'audit.log'), masterKey: randomBytes(32), tls, port: 0, callLog: null, watch: false });
  try {
    writeFileSync(settingsFile, stringify({ vaults: [{ name: 'X', tenant: 'nope', accessPolicies: [{ objectId: 'o', secrets: ['fly'] }] }] }));
    const r = vault.reload();
    assert.equal(r.ok, false);
    assert.match(r.message, /tokenService|secrets/);
    assert.equal(vault.current().version, 1);
    assert.ok(vault.current().vaults.has('demo'));
  } finally {
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vault policy versions outlive the process: the same vault.yaml keeps its number after a restart, a changed one takes the next, a broken one none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-reload-'));
  const settingsFile = join(dir, 'vault.yaml');
  const text = (perms: string[]) => stringify(settingsFor([owner], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: owner.objectId, secrets: perms }] }]));
  writeFileSync(settingsFile, text(['get']));
  const tls = await testTls();
  const start = () => startVaultServer({ settingsFile, databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'audit.log'), masterKey, tls, port: 0, callLog: null, watch: false });
  const masterKey = randomBytes(32);
  try {
    let vault = await start();
    assert.equal(vault.current().version, 1);
    assert.equal(vault.reload().version, 1, 'an unchanged file is the same version');
    writeFileSync(settingsFile, text(['get', 'list']));
    assert.equal(vault.reload().version, 2);
    writeFileSync(settingsFile, 'vaults: [ {');
    assert.equal(vault.reload().ok, false);
    await vault.close();
    writeFileSync(settingsFile, text(['get', 'list']));
    vault = await start();
    assert.equal(vault.current().version, 2, 'after a restart the same text is still v2, not v1 again');
    writeFileSync(settingsFile, text(['get']));
    assert.equal(vault.reload().version, 3, 'going back to an older text is a new version: versions only grow');
    await vault.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
