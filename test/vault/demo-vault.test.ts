import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { freePortBlock, runCli, startCli, type RunningServer } from '../support/cli.ts';
import { httpsRequest } from './support.ts';

// DEMO.md's "Vault" section, against `pinpoint demo` in its own process.

describe('the demo vault', () => {
  let demo: RunningServer;
  let dataDir: string;
  let vaultUrl: string;
  let caPem: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-demo-vault-'));
    const port = await freePortBlock();
    demo = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/);
    vaultUrl = `https://127.0.0.1:${port + 443}`;
    caPem = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
  });
  after(async () => { await demo.stop(); rmSync(dataDir, { recursive: true, force: true }); });

  const client = (clientId: string, secret: string) => {
    const tlsOptions = { ca: caPem };
    return new SecretClient(vaultUrl, new ClientSecretCredential('demo-tenant', clientId, secret, { authorityHost: vaultUrl, disableInstanceDiscovery: true, tlsOptions }), {
      disableChallengeResourceVerification: true, tlsOptions, retryOptions: { maxRetries: 0 },
    });
  };

  test('the banner names the vault on PORT+443 and the demo CA written to <data-dir>/tls/ca.pem', () => {
    assert.ok(existsSync(join(dataDir, 'tls', 'ca.pem')));
    assert.match(demo.output(), new RegExp(`vault \\(HTTPS\\)\\s+${vaultUrl.replaceAll('.', '\\.')}`));
    assert.match(demo.output(), /tls\/ca\.pem/);
  });

  test('demo-app reads greeting = "hello from pinpoint" with the Azure SDK', async () => {
    assert.equal((await client('demo-app', 'demo-app-secret').getSecret('greeting')).value, 'hello from pinpoint');
  });

  test('demo-readonly may get and list but not set', async () => {
    const c = client('demo-readonly', 'demo-readonly-secret');
    assert.equal((await c.getSecret('greeting')).value, 'hello from pinpoint');
    for await (const page of c.listPropertiesOfSecrets().byPage()) { assert.ok(page.some((p) => p.name === 'greeting')); break; }
    await assert.rejects(c.setSecret('greeting', 'x'), (e: { statusCode?: number; message: string }) => e.statusCode === 403 && /secrets set permission/.test(e.message));
  });

  test('demo-nopolicy gets 403, and explain names the identities that do have policies', async () => {
    const err = await client('demo-nopolicy', 'demo-nopolicy-secret').getSecret('greeting').then(() => null, (e: { statusCode?: number; response?: { headers: { get(n: string): string | undefined } } }) => e);
    assert.equal(err?.statusCode, 403);
    const id = err.response!.headers.get('x-ms-request-id')!;
    const r = runCli(['explain', id, '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /403 vault_no_access_policy/);
    assert.match(r.stdout, /appid=demo-nopolicy/);
    assert.match(r.stdout, /demo-app \(appid=demo-app;oid=.*demo-readonly \(appid=demo-readonly/);
  });

  test('vault locked refuses demo-app from loopback with 403 ForbiddenByFirewall', async () => {
    const tok = await httpsRequest({ caPem }, `${vaultUrl}/demo-tenant/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-app', client_secret: 'demo-app-secret', scope: 'https://vault.localhost/.default' }).toString() });
    const r = await httpsRequest({ caPem }, `${vaultUrl}/secrets/greeting?api-version=7.5`, { headers: { authorization: `Bearer ${tok.json.access_token as string}`, host: `locked.vault.localhost:${new URL(vaultUrl).port}` } });
    assert.equal(r.status, 403);
    assert.equal((r.json.error as { code: string }).code, 'ForbiddenByFirewall');
    assert.match((r.json.error as { message: string }).message, /^Client address \(127\.0\.0\.1\) is not authorized and caller is not a trusted service/);
  });

  test('a separate process that trusts the CA only through NODE_EXTRA_CA_CERTS reads the secret with the SDK', async () => {
    const script = `
      import { ClientSecretCredential } from '@azure/identity';
      import { SecretClient } from '@azure/keyvault-secrets';
      const url = process.env.VAULT_URL;
      const c = new SecretClient(url, new ClientSecretCredential('demo-tenant', 'demo-app', 'demo-app-secret', { authorityHost: url, disableInstanceDiscovery: true }), { disableChallengeResourceVerification: true });
      console.log((await c.getSecret('greeting')).value);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dataDir, 'tls', 'ca.pem'), VAULT_URL: vaultUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, out);
    assert.equal(out.trim(), 'hello from pinpoint');
  });
});
