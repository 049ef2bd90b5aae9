import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { prepareVaultDir, vaultApps } from '../../bench/lib/vault.ts';
import { BenchAbort } from '../../bench/lib/procs.ts';
import { scenarios } from '../../bench/scenarios.ts';
import { systems, vaultRun, type Env } from '../../bench/systems.ts';
import { startVaultServer } from '../../src/vault/vault-server.ts';

// The vault row of `npm run bench` is only timed after its checks pass against the real vault:
// these run those checks over real HTTPS, against a vault that enforces and one that does not.

const scratch = mkdtempSync(join(tmpdir(), 'pinpoint-bench-vault-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function vaultIn(tmp: string, edit?: (settings: { vaults: { accessPolicies: { objectId: string; secrets: string[] }[] }[] }) => void) {
  const dir = join(tmp, 'vault');
  mkdirSync(dir, { recursive: true });
  await prepareVaultDir(dir);
  if (edit) {
    const settings = parse(readFileSync(join(dir, 'vault.yaml'), 'utf8')) as Parameters<NonNullable<typeof edit>>[0];
    edit(settings);
    writeFileSync(join(dir, 'vault.yaml'), stringify(settings));
  }
  return startVaultServer({
    settingsFile: join(dir, 'vault.yaml'), databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'vault-audit.log'), masterKey: randomBytes(32),
    tls: { certPem: readFileSync(join(dir, 'server.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'server-key.pem'), 'utf8') }, port: 0, callLog: null, watch: false,
  });
}

const vaultSystem = systems.find((s) => s.id === 'vault')!;

describe('the vault row of the benchmark', () => {
  it('passes its checks against the real vault and leaves the token wrk sends', async () => {
    const tmp = join(scratch, 'enforcing');
    const vault = await vaultIn(tmp);
    try {
      vaultRun.token = '';
      const lines = await vaultSystem.verify({ tmp } as Env, vault.url, '');
      assert.ok(lines.some((l) => l.includes('no token -> 401')));
      assert.ok(lines.some((l) => l.includes('without an access policy -> 403')));
      assert.equal(vaultRun.token.split('.').length, 3, 'a JWT from the token service');
      const load = scenarios.find((s) => s.id === 'vault')!.load(vaultSystem, { tmp } as Env, vault.url, { bareRps: null })!;
      assert.equal(load.url, `${vault.url}/secrets/bench-secret?api-version=7.5`);
      assert.equal(load.headers.authorization, `Bearer ${vaultRun.token}`);
    } finally {
      await vault.close();
    }
  });

  it('stops the run when the app without a policy can read the secret', async () => {
    const tmp = join(scratch, 'lax');
    const vault = await vaultIn(tmp, (s) => { s.vaults[0]!.accessPolicies.push({ objectId: vaultApps.noPolicy.objectId, secrets: ['get'] }); });
    try {
      await assert.rejects(vaultSystem.verify({ tmp } as Env, vault.url, ''), (err: unknown) => err instanceof BenchAbort && /without an access policy: expected 403, got 200/.test(err.message));
    } finally {
      await vault.close();
    }
  });

  it('puts --workers 2 in the small-GET table with the full chain and its checks', () => {
    const get = scenarios.find((s) => s.id === 'get')!;
    assert.ok(get.systems.includes('workers') && get.systems.includes('key'));
    const workers = systems.find((s) => s.id === 'workers')!;
    assert.equal(workers.server, 'pinpoint-workers');
    assert.equal(workers.credential, 'key');
  });
});
