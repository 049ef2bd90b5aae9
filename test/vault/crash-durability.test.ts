import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { allPermissions, app, fetchToken, httpsRequest, settingsFor, TENANT, testTls, type TestVault } from './support.ts';

const a = app('crash-app');
const script = new URL('./fixtures/run-vault.ts', import.meta.url).pathname;

async function spawnVault(dir: string, masterKey: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [script, dir], { env: { ...process.env, PINPOINT_VAULT_MASTER_KEY: masterKey }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /vault ready (\S+)/.exec(out); if (m) resolve(m[1]!); });
    child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('exit', (code) => reject(new Error(`vault exited ${code}: ${out}`)));
  });
  return { child, url };
}

test('a vault process killed with SIGKILL right after acknowledging writes loses none of them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-crash-'));
  const tls = await testTls();
  writeFileSync(join(dir, 'server.pem'), tls.certPem);
  writeFileSync(join(dir, 'server-key.pem'), tls.keyPem);
  writeFileSync(join(dir, 'vault.yaml'), stringify(settingsFor([a], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: a.objectId, secrets: allPermissions }] }])));
  const masterKey = randomBytes(32).toString('base64');
  try {
    const first = await spawnVault(dir, masterKey);
    const t1 = { url: first.url, caPem: tls.caPem } as TestVault;
    const token = (await fetchToken(t1, a)).json.access_token as string;
    const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const acknowledged: string[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await httpsRequest(t1, `${first.url}/secrets/durable-${i}?api-version=7.5`, { method: 'PUT', headers: h, body: JSON.stringify({ value: `value-${i}` }) });
      assert.equal(r.status, 200);
      acknowledged.push(`durable-${i}`);
    }
    // Kill at once after the last 200: no graceful shutdown, no flush.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await spawnVault(dir, masterKey);
    try {
      const t2 = { url: second.url, caPem: tls.caPem } as TestVault;
      const token2 = (await fetchToken(t2, a)).json.access_token as string;
      for (const [i, name] of acknowledged.entries()) {
        const r = await httpsRequest(t2, `${second.url}/secrets/${name}?api-version=7.5`, { headers: { authorization: `Bearer ${token2}` } });
        assert.equal(r.status, 200, `${name} survived`);
        assert.equal(r.json.value, `value-${i}`);
      }
    } finally {
      second.child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a vault started with another master key refuses to start rather than serve unreadable secrets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-key-'));
  const tls = await testTls();
  writeFileSync(join(dir, 'server.pem'), tls.certPem);
  writeFileSync(join(dir, 'server-key.pem'), tls.keyPem);
  writeFileSync(join(dir, 'vault.yaml'), stringify(settingsFor([a], [{ name: 'demo', tenant: TENANT }])));
  try {
    const first = await spawnVault(dir, randomBytes(32).toString('base64'));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    await assert.rejects(spawnVault(dir, randomBytes(32).toString('base64')), /master key does not match/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
