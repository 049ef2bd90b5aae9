import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { demoVaultSettings } from '../../src/demo/demo-vault.ts';
import { SecretSealer } from '../../src/vault/secret-crypto.ts';
import { VaultStore } from '../../src/vault/store.ts';
import { startFakeOpenAi } from '../ai/fakes.ts';
import { aiConfig, writerKey } from '../ai/support.ts';
import { runCli } from '../support/cli.ts';
import { call } from '../support/harness.ts';
import { startNode, until } from '../support/nodes.ts';

// `pinpoint serve --vault-settings FILE --vault-identity CLIENT_ID --vault-data-dir DIR`: a
// real gateway process reads vault:// provider keys from a vault's data (vault.db sealed with
// the master key from the environment) under vault.yaml's policies, reloaded on change.

const KEY = 'sk-servevaultcanary-0123456789abcdef';

test('pinpoint serve reads a vault:// provider key from the vault data it is pointed at, and a removed policy takes it away', async () => {
  const vaultDir = mkdtempSync(join(tmpdir(), 'pinpoint-serve-vault-'));
  const masterKey = randomBytes(32);
  const settingsFile = join(vaultDir, 'vault.yaml');
  const settings = demoVaultSettings() as { vaults: { name: string; accessPolicies: { objectId: string }[] }[] };
  writeFileSync(settingsFile, stringify(settings));
  const store = new VaultStore(join(vaultDir, 'vault.db'), new SecretSealer(masterKey));
  store.setSecret('demo', 'openai-key', 'v1', KEY, { enabled: true, nbf: null, exp: null, contentType: null, tags: null }, Math.floor(Date.now() / 1000));
  store.close();
  const fake = await startFakeOpenAi({ key: KEY });
  const node = await startNode(aiConfig({
    providers: { p: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'vault://demo/openai-key', secretTtlSeconds: 0 } },
    models: { m: { provider: 'p' } },
    access: [{ consumer: 'writer-app', models: ['m'] }],
  }), ['--vault-settings', settingsFile, '--vault-identity', 'demo-readonly', '--vault-data-dir', vaultDir], { PINPOINT_VAULT_MASTER_KEY: masterKey.toString('base64') });
  try {
    const chat = () => call(`${node.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${writerKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
    const ok = await chat();
    assert.equal(ok.status, 200, ok.text);
    assert.equal(fake.received.at(-1)!.headers.authorization, `Bearer ${KEY}`);
    const demo = settings.vaults.find((v) => v.name === 'demo')!;
    demo.accessPolicies = demo.accessPolicies.filter((p) => p.objectId !== '6f3c9a40-1b2d-4e5f-8a9b-0c1d2e3f4a02');
    writeFileSync(settingsFile, stringify(settings));
    const refused = await until('the policy edit reaches the gateway', async () => { const a = await chat(); return a.status === 503 ? a : null; }, 10_000, 100);
    assert.equal(JSON.parse(refused.text).code, 'provider_credential_unavailable');
    assert.ok(!node.server.output().includes('servevaultcanary'), 'the key is in no log line');
    assert.match(readFileSync(join(vaultDir, 'vault-audit.log'), 'utf8'), /"operation":"GetSecret".*"result":"denied"/);
  } finally {
    await node.stop();
    await fake.close();
    rmSync(vaultDir, { recursive: true, force: true });
  }
});

test('pinpoint serve refuses --vault-settings without --vault-identity, saying what is missing', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-serve-vault-usage-'));
  try {
    const r = runCli(['serve', '--config', '/nonexistent.yaml', '--data-dir', dataDir, '--vault-settings', '/nonexistent-vault.yaml']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--vault-settings needs --vault-identity CLIENT_ID/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
