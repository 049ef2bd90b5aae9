import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { startDemoVault } from '../../src/demo/demo-vault.ts';
import { startGateway } from '../../src/server/gateway.ts';
import { VaultSecretSource } from '../../src/vault/secret-source.ts';
import { assertProblem, traceOf } from '../support/assertions.ts';
import { call, type TestGateway } from '../support/harness.ts';
import { startFakeOpenAi } from './fakes.ts';
import { aiConfig, usageRows, writerKey } from './support.ts';

// Provider keys in Pinpoint's own vault: `vault://demo/openai-key`, read in process as the
// demo app `demo-readonly` (secrets get, list on vault demo), cached for the provider's TTL.

const KEY_V1 = 'sk-vaultcanary-1111aaaa2222bbbb3333';
const KEY_V2 = 'sk-vaultcanary-4444cccc5555dddd6666';

async function setup() {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-ai-'));
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  const fake = await startFakeOpenAi({ key: null });
  const demoVault = await startDemoVault({ dataDir, port: 0, callLog: null, logger });
  const put = (value: string) => demoVault.vault.store.setSecret('demo', 'openai-key', crypto.randomUUID().replaceAll('-', ''), value,
    { enabled: true, nbf: null, exp: null, contentType: null, tags: null }, Math.floor(Date.now() / 1000));
  put(KEY_V1);
  const source = new VaultSecretSource('demo-readonly', { settings: demoVault.vault.current, store: demoVault.vault.store, audit: demoVault.vault.audit });
  const configFile = join(dataDir, 'pinpoint.yaml');
  const databaseFile = join(dataDir, 'pinpoint.db');
  writeFileSync(configFile, stringify(aiConfig({
    providers: { p: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'vault://demo/openai-key', secretTtlSeconds: 1 } },
    models: { m: { provider: 'p' } },
    access: [{ consumer: 'writer-app', models: ['m'] }],
  })));
  const gateway = await startGateway({ configFile, databaseFile, logger, port: 0, host: '127.0.0.1', aiSecretSources: [source] });
  const t: TestGateway = { gateway, url: gateway.url, dataDir, configFile, databaseFile, rewrite: () => gateway.reload(), close: async () => undefined };
  const chat = () => call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${writerKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
  let closed = false;
  const stop = async () => { if (closed) return; closed = true; await gateway.close(); await demoVault.vault.close(); await fake.close(); };
  const close = async () => { await stop(); rmSync(dataDir, { recursive: true, force: true }); };
  return { t, fake, demoVault, put, chat, lines, stop, close, dataDir };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a provider key stored in the vault reaches the provider as its bearer key, and a rotation is picked up after the TTL', async () => {
  const s = await setup();
  try {
    const a = await s.chat();
    assert.equal(a.status, 200, a.text);
    assert.equal(s.fake.received.at(-1)!.headers.authorization, `Bearer ${KEY_V1}`);
    s.put(KEY_V2);
    const cached = await s.chat();
    assert.equal(cached.status, 200);
    assert.equal(s.fake.received.at(-1)!.headers.authorization, `Bearer ${KEY_V1}`, 'within the TTL the cached key is used');
    await sleep(1100);
    const rotated = await s.chat();
    assert.equal(rotated.status, 200);
    assert.equal(s.fake.received.at(-1)!.headers.authorization, `Bearer ${KEY_V2}`, 'after the TTL the new version is read');
  } finally {
    await s.close();
  }
});

test('removing the gateway identity\'s vault policy refuses with provider_credential_unavailable naming the vault, the secret and why', async () => {
  const s = await setup();
  try {
    assert.equal((await s.chat()).status, 200);
    const file = s.demoVault.settingsFile;
    const settings = parse(readFileSync(file, 'utf8')) as { vaults: { name: string; accessPolicies: { objectId: string }[] }[] };
    const demo = settings.vaults.find((v) => v.name === 'demo')!;
    demo.accessPolicies = demo.accessPolicies.filter((p) => p.objectId !== '6f3c9a40-1b2d-4e5f-8a9b-0c1d2e3f4a02');
    writeFileSync(file, stringify(settings));
    assert.equal(s.demoVault.vault.reload().ok, true);
    await sleep(1100);
    const before = s.fake.received.length;
    const a = await s.chat();
    assertProblem(a, 503, 'provider_credential_unavailable');
    assert.equal(s.fake.received.length, before, 'the provider is not called without a key');
    const trace = await traceOf(s.t, a);
    const evidence = String(trace.checks.find((c) => c.id === 'ai-provider')?.evidence?.provider_error);
    assert.match(evidence, /vault:\/\/demo\/openai-key/);
    assert.match(evidence, /vault 'demo' has no access policy for the gateway's identity 'demo-readonly'/);
    assert.match(evidence, /give it secrets get/);
  } finally {
    await s.close();
  }
});

test('no provider key value appears in a log line, the call log, the usage table or the vault audit log', async () => {
  const s = await setup();
  try {
    assert.equal((await s.chat()).status, 200);
    s.put(KEY_V2);
    await sleep(1100);
    assert.equal((await s.chat()).status, 200);
    assert.equal(s.fake.received.at(-1)!.headers.authorization, `Bearer ${KEY_V2}`);
    assert.equal((await usageRows(s.t)).length, 2);
    await s.t.gateway.writer.flush();
    assert.ok(s.lines.length > 0, 'the logger was used');
    assert.ok(s.lines.every((l) => !l.includes('vaultcanary')), 'no log line holds a key');
    await s.stop();
    const audit = readFileSync(join(s.dataDir, 'vault-audit.log'), 'utf8');
    assert.match(audit, /"operation":"GetSecret".*"clientIp":"in-process"/, 'the gateway\'s reads are audited');
    for (const f of readdirSync(s.dataDir)) {
      const p = join(s.dataDir, f);
      if (!statSync(p).isFile()) continue;
      assert.ok(!readFileSync(p).includes('vaultcanary'), `${f} holds no key value`);
    }
  } finally {
    await s.close();
  }
});

test('a gateway identity whose client id is registered in two tenants reads nothing until its tenant is named', async () => {
  const s = await setup();
  try {
    const file = s.demoVault.settingsFile;
    const settings = parse(readFileSync(file, 'utf8')) as { tokenService: { tenants: string[] }; apps: { clientId: string; tenant: string; objectId: string }[] };
    const demoTenant = settings.apps.find((a) => a.clientId === 'demo-readonly')!.tenant;
    const other = '0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4';
    settings.tokenService.tenants.push(other);
    // Registered first, with the same object id as demo-readonly's (which has a policy on vault
    // demo): a first-match lookup, or a policy check by object id alone, would read as it.
    settings.apps.unshift({ ...settings.apps.find((a) => a.clientId === 'demo-readonly')!, tenant: other });
    writeFileSync(file, stringify(settings));
    assert.equal(s.demoVault.vault.reload().ok, true);
    const reader = { settings: s.demoVault.vault.current, store: s.demoVault.vault.store, audit: s.demoVault.vault.audit };
    await assert.rejects(new VaultSecretSource('demo-readonly', reader).resolve('vault://demo/openai-key'),
      (err: Error) => /names an app in several tenants \(.*\); give it as <tenant>\/demo-readonly/.test(err.message));
    assert.equal(await new VaultSecretSource(`${demoTenant}/demo-readonly`, reader).resolve('vault://demo/openai-key'), KEY_V1);
    await assert.rejects(new VaultSecretSource(`${other}/demo-readonly`, reader).resolve('vault://demo/openai-key'),
      (err: Error) => new RegExp(`is an app of tenant ${other}; vault 'demo' belongs to tenant ${demoTenant}`).test(err.message));
    await assert.rejects(new VaultSecretSource('nobody-tenant/demo-readonly', reader).resolve('vault://demo/openai-key'),
      (err: Error) => /'nobody-tenant\/demo-readonly' is not an app/.test(err.message));
  } finally {
    await s.close();
  }
});
