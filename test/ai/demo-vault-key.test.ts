import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { parse, stringify } from 'yaml';
import { freePortBlock, startCli } from '../support/cli.ts';
import { call } from '../support/harness.ts';
import { until } from '../support/nodes.ts';
import { startFakeOpenAi } from './fakes.ts';

// `pinpoint demo` wires the vault:// secret source: a key stored in the demo vault through its
// Key Vault API (as demo-app) is what a provider named `vault://demo/openai-key` receives.

const KEY = 'sk-demovaultcanary-abcdef0123456789';

test('in the demo, a provider key stored in vault demo reaches the provider once pinpoint.yaml names it as vault://demo/openai-key', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-demo-vault-key-'));
  const port = await freePortBlock();
  const fake = await startFakeOpenAi({ key: KEY });
  const demo = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/);
  try {
    const vault = `https://127.0.0.1:${port + 443}`;
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8') } });
    const tokenAnswer = await undiciFetch(`${vault}/demo-tenant/oauth2/v2.0/token`, { method: 'POST', dispatcher, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-app', client_secret: 'demo-app-secret', scope: 'https://vault.localhost/.default' }) });
    const { access_token } = await tokenAnswer.json() as { access_token: string };
    const put = await undiciFetch(`${vault}/secrets/openai-key?api-version=7.5`, { method: 'PUT', dispatcher, headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ value: KEY }) });
    assert.equal(put.status, 200, await put.text());
    await dispatcher.close();

    const configFile = join(dataDir, 'pinpoint.yaml');
    const config = parse(readFileSync(configFile, 'utf8')) as { ai: { providers: Record<string, unknown>; models: Record<string, unknown>; access: { consumer?: string; models: string[] }[] } };
    config.ai.providers.openai = { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'vault://demo/openai-key' };
    config.ai.models['gpt-test'] = { provider: 'openai', model: 'gpt-4o-mini' };
    config.ai.access = config.ai.access.map((a) => (a.consumer === 'acme-writer' ? { ...a, models: [...a.models, 'gpt-test'] } : a));
    writeFileSync(configFile, stringify(config));

    const chat = () => call(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer pk_demo_writer', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }) });
    const ok = await until('the edited config is running and the key is read', async () => { const a = await chat(); return a.status === 200 ? a : null; }, 15_000, 200);
    assert.equal(ok.status, 200);
    assert.equal(fake.received.at(-1)!.headers.authorization, `Bearer ${KEY}`);
    assert.ok(!demo.output().includes('demovaultcanary'), 'the key is in no log line');
  } finally {
    await demo.stop();
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
