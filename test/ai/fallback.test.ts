import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { assertProblem, traceOf } from '../support/assertions.ts';
import { call, startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeAnthropic, startFakeOpenAi, type FakeProvider } from './fakes.ts';
import { aiConfig, collect, openaiClient, readerKey, usageRows, writerKey } from './support.ts';

// Fallbacks: when a provider answers 429 or 5xx, the next model in the list is tried, each
// try is an attempt in the trace, and usage is charged to the model that answered.

const claudeKey = 'sk-ant-fallback-key-999';
let primary: FakeProvider;
let claude: FakeProvider;
let t: TestGateway;

before(async () => {
  process.env.PINPOINT_TEST_FALLBACK_CLAUDE = claudeKey;
  primary = await startFakeOpenAi({ key: null });
  claude = await startFakeAnthropic(claudeKey);
  t = await startTestGateway(aiConfig({
    providers: {
      main: { type: 'openai-compatible', baseUrl: `${primary.url}/v1` },
      claude: { type: 'anthropic', baseUrl: claude.url, apiKey: 'env://PINPOINT_TEST_FALLBACK_CLAUDE' },
    },
    models: {
      fast: { provider: 'main', model: 'fast-1', fallbacks: ['backup'] },
      backup: { provider: 'claude', model: 'claude-haiku-4-5' },
    },
    prices: { fast: { inputPerMillion: 1, outputPerMillion: 1 }, backup: { inputPerMillion: 2, outputPerMillion: 4 } },
    access: [{ consumer: 'writer-app', models: ['fast', 'backup'] }, { consumer: 'reader-app', models: ['fast'] }],
  }));
});
after(async () => { await t.close(); await primary.close(); await claude.close(); });

test('a 429 from the primary provider falls back to the next model; the trace records both attempts', async () => {
  primary.script({ error: { status: 429, type: 'rate_limit', message: 'slow down' } });
  claude.script({ text: 'answer from the backup', usage: { input: 11, output: 4 } });
  const { data, response } = await openaiClient(t).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  assert.equal(data.choices[0]!.message.content, 'answer from the backup');
  assert.equal(response.headers.get('x-pinpoint-model'), 'backup');
  assert.equal(response.headers.get('x-pinpoint-provider'), 'claude');
  assert.equal(claude.received.at(-1)!.body.model, 'claude-haiku-4-5');
  const requestId = response.headers.get('x-request-id')!;
  const trace = await traceOf(t, { status: 200, headers: response.headers, text: '', json: {} });
  assert.equal(trace.upstream?.attempts.length, 2);
  assert.equal(trace.upstream?.attempts[0]!.target, 'main/fast-1');
  assert.equal(trace.upstream?.attempts[0]!.status, 429);
  assert.match(trace.upstream?.attempts[0]!.error ?? '', /provider_rate_limited/);
  assert.deepEqual(trace.upstream?.attempts[1], { target: 'claude/claude-haiku-4-5', status: 200 });
  assert.equal(trace.extra?.fallback_from, 'fast');
  const row = (await usageRows(t)).find((r) => r.request_id === requestId)!;
  assert.equal(row.model, 'backup', 'usage is charged to the model that answered');
  assert.equal(row.cost_nano_usd, 11 * 2000 + 4 * 4000);
});

test('a 503 from the primary falls back for a stream too, before any chunk is sent', async () => {
  primary.script({ error: { status: 503, type: 'server_error', message: 'down for maintenance' } });
  claude.script({ text: 'streamed by backup', usage: { input: 3, output: 3 } });
  const stream = await openaiClient(t).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], stream: true });
  const { text } = await collect(stream);
  assert.equal(text, 'streamed by backup');
});

test('a 400 from the primary is not retried elsewhere: another provider would refuse it too', async () => {
  const before = claude.received.length;
  primary.script({ error: { status: 400, type: 'invalid_request_error', message: 'context too long' } });
  await assert.rejects(openaiClient(t).chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.code, 'provider_bad_request');
    return true;
  });
  assert.equal(claude.received.length, before);
});

test('when every candidate fails, the last provider\'s refusal is answered and all attempts are traced', async () => {
  primary.script({ error: { status: 500, type: 'server_error', message: 'boom' } });
  claude.script({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
  const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }) });
  assertProblem(a, 502, 'provider_unavailable');
  assert.match(a.json.detail as string, /provider "claude"/);
  const trace = await traceOf(t, a);
  assert.deepEqual(trace.upstream?.attempts.map((x) => x.status), [500, 529]);
});

test('a fallback model the app may not use is skipped, never called', async () => {
  const before = claude.received.length;
  primary.script({ error: { status: 429, type: 'rate_limit', message: 'slow down' } });
  const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': readerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }) });
  assertProblem(a, 429, 'provider_rate_limited');
  assert.equal(claude.received.length, before);
  const trace = await traceOf(t, a);
  assert.equal(trace.upstream?.attempts.length, 1);
  assert.deepEqual(trace.checks.find((c) => c.id === 'ai-provider')?.evidence?.fallbacks_not_allowed, ['backup'], 'the trace says which fallback was skipped');
});
