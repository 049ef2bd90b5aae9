import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeOpenAi, type FakeProvider } from './fakes.ts';
import { aiConfig, openaiClient, readerKey } from './support.ts';

// `pinpoint explain` (text, not --json) of AI requests: the provider tries in order, the
// model that answered, and the tokens and cost charged.

let primary: FakeProvider;
let backup: FakeProvider;
let t: TestGateway;

before(async () => {
  primary = await startFakeOpenAi({ key: null });
  backup = await startFakeOpenAi({ key: null });
  t = await startTestGateway(aiConfig({
    providers: {
      main: { type: 'openai-compatible', baseUrl: `${primary.url}/v1` },
      spare: { type: 'openai-compatible', baseUrl: `${backup.url}/v1` },
    },
    models: { fast: { provider: 'main', model: 'fast-1', fallbacks: ['backup'] }, backup: { provider: 'spare', model: 'spare-2' } },
    prices: { fast: { inputPerMillion: 1, outputPerMillion: 1 }, backup: { inputPerMillion: 2, outputPerMillion: 4 } },
    access: [{ consumer: 'writer-app', models: ['fast', 'backup'] }, { consumer: 'reader-app', models: ['fast'] }],
  }));
});
after(async () => { await t.close(); await primary.close(); await backup.close(); });

const explainText = async (requestId: string): Promise<string> => {
  await t.gateway.writer.flush();
  await new Promise((r) => setTimeout(r, 100));
  const x = runCli(['explain', requestId, '--data-dir', t.dataDir]);
  assert.equal(x.status, 0, x.stderr);
  return x.stdout;
};

test('explain text lists each provider try and the usage and cost of the model that answered', async () => {
  primary.script({ error: { status: 429, type: 'rate_limit', message: 'slow down' } });
  backup.script({ text: 'from the backup', usage: { input: 11, output: 4 } });
  const { response } = await openaiClient(t).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  const out = await explainText(response.headers.get('x-request-id')!);
  assert.match(out, /AI gateway:/);
  assert.match(out, /model {5}fast → served by backup \(fallback\), provider spare/);
  assert.match(out, /provider tries \(2\):\n {4}1\. main\/fast-1 +429 {2}provider_rate_limited: .*slow down/);
  assert.match(out, /\n {4}2\. spare\/spare-2 +200\n/);
  // 11 × $2/M + 4 × $4/M = $0.000038
  assert.match(out, /usage {5}11 prompt \+ 4 completion = 15 tokens, cost \$0\.000038\n/);
});

test('explain text of a request refused before any model answered says nothing was charged', async () => {
  primary.script({ error: { status: 500, type: 'server_error', message: 'boom' } });
  const client = openaiClient(t, readerKey);
  // reader-app may not use the fallback: the only try fails, and nothing is charged.
  const err = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }).then(() => null, (e: unknown) => e as { status: number; headers: Headers });
  assert.ok(err, 'the request fails');
  const requestId = err.headers instanceof Headers ? err.headers.get('x-request-id') : (err.headers as Record<string, string>)['x-request-id'];
  const out = await explainText(requestId!);
  assert.match(out, /provider tries \(1\):\n {4}1\. main\/fast-1 +500 {2}provider_unavailable/);
  assert.match(out, /usage {5}none charged \(refused before a model answered\)/);
});
