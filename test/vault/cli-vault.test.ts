import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { hashClientSecret } from '../../src/identity/apps.ts';
import { freePortBlock, runCli, startCli } from '../support/cli.ts';
import { fetchToken, httpsRequest, settingsFor, app, TENANT, type TestVault } from './support.ts';

test('`pinpoint vault digest` prints the digest an app\'s clientSecrets expects', () => {
  const r = runCli(['vault', 'digest', 'my-secret']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), `sha256:${hashClientSecret('my-secret')}`);
});

test('`pinpoint vault serve` serves the settings over HTTPS with a development CA, and explain reads its refusals', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-cli-'));
  const a = app('cli-app');
  const b = app('cli-other');
  writeFileSync(join(dir, 'vault.yaml'), stringify(settingsFor([a, b], [{ name: 'main', tenant: TENANT, accessPolicies: [{ objectId: a.objectId, secrets: ['get', 'set'] }] }])));
  const port = await freePortBlock();
  const server = await startCli(['vault', 'serve', '--settings', join(dir, 'vault.yaml'), '--data-dir', dir, '--port', String(port)], /pinpoint vault listening/, { PINPOINT_VAULT_MASTER_KEY: randomBytes(32).toString('hex') });
  try {
    const t = { url: `https://127.0.0.1:${port}`, caPem: readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8') } as TestVault;
    const token = (await fetchToken(t, a)).json.access_token as string;
    const put = await httpsRequest(t, `${t.url}/secrets/s?api-version=7.5`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":"v"}' });
    assert.equal(put.status, 200);
    const other = (await fetchToken(t, b)).json.access_token as string;
    const denied = await httpsRequest(t, `${t.url}/secrets/s?api-version=7.5`, { headers: { authorization: `Bearer ${other}` } });
    assert.equal(denied.status, 403);
    const out = runCli(['explain', String(denied.headers['x-ms-request-id']), '--data-dir', dir]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /vault_no_access_policy/);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('`pinpoint vault serve` without a master key says how to give one', () => {
  const r = runCli(['vault', 'serve', '--settings', '/nonexistent.yaml'], { env: { ...process.env, PINPOINT_VAULT_MASTER_KEY: '', PINPOINT_VAULT_MASTER_KEY_FILE: '' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /PINPOINT_VAULT_MASTER_KEY/);
});
