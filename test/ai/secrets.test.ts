import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvSecretSource, SecretResolver, SecretUnavailable, type SecretSource } from '../../src/ai/secrets.ts';
import { assertProblem, traceOf } from '../support/assertions.ts';
import { call, startTestGateway } from '../support/harness.ts';
import { startFakeOpenAi } from './fakes.ts';
import { aiConfig, writerKey } from './support.ts';

// Provider keys come from a SecretSource by reference, cached for a TTL; they never appear in
// config files, traces or answers.

class CountingSource implements SecretSource {
  readonly scheme = 'vault';
  calls = 0;
  value = 'v1';
  async resolve(reference: string): Promise<string> {
    this.calls++;
    if (reference.endsWith('/missing')) throw new SecretUnavailable(reference, 'secret not found');
    return this.value;
  }
}

test('a resolved secret is reused for its TTL and read again after it', async () => {
  let now = 1_000_000;
  const source = new CountingSource();
  const r = new SecretResolver([source], () => now);
  assert.equal(await r.resolve('vault://demo/openai', 60_000), 'v1');
  source.value = 'v2';
  assert.equal(await r.resolve('vault://demo/openai', 60_000), 'v1');
  assert.equal(source.calls, 1);
  now += 60_001;
  assert.equal(await r.resolve('vault://demo/openai', 60_000), 'v2', 'a rotated key is picked up once the TTL ends');
  assert.equal(source.calls, 2);
});

test('concurrent first reads share one lookup, and failures are not cached', async () => {
  const source = new CountingSource();
  const r = new SecretResolver([source]);
  const values = await Promise.all([1, 2, 3].map(() => r.resolve('vault://demo/k', 1000)));
  assert.deepEqual(values, ['v1', 'v1', 'v1']);
  assert.equal(source.calls, 1);
  await assert.rejects(r.resolve('vault://demo/missing', 1000), SecretUnavailable);
  await assert.rejects(r.resolve('vault://demo/missing', 1000), SecretUnavailable);
  assert.equal(source.calls, 3);
});

test('env:// reads the environment; an unset variable or an unknown scheme is SecretUnavailable', async () => {
  const r = new SecretResolver([new EnvSecretSource({ ONE: 'uno' })]);
  assert.equal(await r.resolve('env://ONE', 0), 'uno');
  await assert.rejects(r.resolve('env://TWO', 0), /TWO is not set/);
  await assert.rejects(r.resolve('vault://demo/x', 0), /no secret source for vault:\/\//);
});

test('a provider key whose variable is unset gets 503 provider_credential_unavailable, naming the reference for the operator only', async () => {
  delete process.env.PINPOINT_TEST_UNSET_KEY;
  const fake = await startFakeOpenAi({ key: 'whatever' });
  const t = await startTestGateway(aiConfig({
    providers: { p: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'env://PINPOINT_TEST_UNSET_KEY' } },
    models: { m: { provider: 'p' } },
    access: [{ consumer: 'writer-app', models: ['m'] }],
  }));
  try {
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
    assertProblem(a, 503, 'provider_credential_unavailable');
    assert.equal(fake.received.length, 0, 'the provider was not called without a key');
    const trace = await traceOf(t, a);
    assert.match(String(trace.checks.find((c) => c.id === 'ai-provider')?.evidence?.provider_error), /PINPOINT_TEST_UNSET_KEY is not set/);
  } finally {
    await t.close();
    await fake.close();
  }
});

test('a key written into the config instead of a reference is refused at load', async () => {
  await assert.rejects(startTestGateway(aiConfig({
    providers: { p: { type: 'openai', apiKey: 'sk-live-abcdef0123456789' } },
  })), /apiKey: a secret reference: env:\/\/NAME or vault:\/\/<vault>\/<secret> \(never the key itself\)/);
});

test('a vault:// reference is refused at load while no vault secret source is plugged in', async () => {
  await assert.rejects(startTestGateway(aiConfig({
    providers: { p: { type: 'openai', apiKey: 'vault://demo/openai-key' } },
  })), /vault:\/\/ references need a vault secret source, and this gateway has none \(available: env:\/\/\)/);
});

test('a vault source passed to the gateway resolves vault:// provider keys, alongside env://', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { stringify } = await import('yaml');
  const { startGateway } = await import('../../src/server/gateway.ts');
  const { silentLogger } = await import('../../src/server/logger.ts');
  const fake = await startFakeOpenAi({ key: 'sk-from-the-vault' });
  const vault: SecretSource = { scheme: 'vault', resolve: async (ref) => (ref === 'vault://prod/openai' ? 'sk-from-the-vault' : Promise.reject(new SecretUnavailable(ref, 'no such secret'))) };
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-ai-vault-'));
  writeFileSync(join(dir, 'pinpoint.yaml'), stringify(aiConfig({
    providers: { p: { type: 'openai', baseUrl: `${fake.url}/v1`, apiKey: 'vault://prod/openai' } },
    models: { m: { provider: 'p' } },
    access: [{ consumer: 'writer-app', models: ['m'] }],
  })));
  const g = await startGateway({ configFile: join(dir, 'pinpoint.yaml'), databaseFile: join(dir, 'pinpoint.db'), logger: silentLogger, port: 0, host: '127.0.0.1', aiSecretSources: [vault] });
  try {
    fake.script({ text: 'hi from a vault-keyed provider', usage: { input: 1, output: 1 } });
    const a = await call(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(a.status, 200, a.text);
    assert.equal(fake.received.at(-1)!.headers.authorization, 'Bearer sk-from-the-vault');
  } finally {
    await g.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
