import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { call, startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeOpenAi, type FakeProvider } from './fakes.ts';
import { aiConfig, readerKey, usageRows, writerKey } from './support.ts';

// A prompt published as a REST API: the operator's template, model and parameters behind an
// ordinary route, with the route's own auth, scopes and rate limit.

let fake: FakeProvider;
let t: TestGateway;

before(async () => {
  fake = await startFakeOpenAi({ key: null });
  t = await startTestGateway(aiConfig({
    providers: { up: { type: 'openai-compatible', baseUrl: `${fake.url}/v1` } },
    models: { small: { provider: 'up', model: 'small-1' } },
    access: [{ tenant: 'acme', models: ['small'] }],
    prompts: {
      sentiment: {
        route: 'sentiment', model: 'small', temperature: 0, maxTokens: 50, response: 'json',
        system: 'Classify the sentiment of the text. Answer with JSON {"sentiment": "positive"|"negative"|"neutral"}.',
        template: 'Text: {{text}}',
      },
    },
  }, [{ id: 'sentiment', path: '/apis/sentiment', methods: ['POST'], upstream: 'ai', auth: ['apiKey'], rateLimit: { limit: 4, windowSeconds: 60, algorithm: 'sliding-log' } }]));
});
after(async () => { await t.close(); await fake.close(); });

const post = (body: unknown, key = writerKey) => call(`${t.url}/apis/sentiment`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('POST /apis/sentiment fills the template, calls the model with the prompt\'s parameters and answers its JSON', async () => {
  fake.script({ text: '```json\n{"sentiment": "positive"}\n```', usage: { input: 30, output: 6 } });
  const a = await post({ text: 'I love this {{text}} gadget' });
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(a.json, { sentiment: 'positive' });
  const sent = fake.received.at(-1)!.body;
  assert.equal(sent.model, 'small-1');
  assert.equal(sent.temperature, 0);
  assert.equal(sent.max_tokens, 50);
  assert.deepEqual(sent.messages, [
    { role: 'system', content: 'Classify the sentiment of the text. Answer with JSON {"sentiment": "positive"|"negative"|"neutral"}.' },
    { role: 'user', content: 'Text: I love this {{text}} gadget' },
  ], 'a value is inserted once, never expanded as a template itself');
  const row = (await usageRows(t)).find((r) => r.request_id === a.headers.get('x-request-id'))!;
  assert.equal(row.endpoint, 'prompt');
  assert.equal(row.total_tokens, 36);
});

test('a body without the template variable gets 400 ai_request_invalid naming it, and no model call', async () => {
  const n = fake.received.length;
  const a = await post({ message: 'wrong field' });
  assertProblem(a, 400, 'ai_request_invalid');
  assert.match(a.json.detail as string, /string field text/);
  assert.equal(fake.received.length, n);
});

test('a model answer that is not JSON is 502 ai_output_invalid, and its usage is still accounted', async () => {
  fake.script({ text: 'I think it is positive!', usage: { input: 30, output: 7 } });
  const a = await post({ text: 'fine' });
  assertProblem(a, 502, 'ai_output_invalid');
  const row = (await usageRows(t)).find((r) => r.request_id === a.headers.get('x-request-id'));
  assert.equal(row?.total_tokens, 37);
});

test('the prompt API is subject to the route\'s own policies: its model allow-list and its rate limit', async () => {
  fake.script({ text: '{"sentiment": "neutral"}', usage: { input: 1, output: 1 } });
  const reader = await post({ text: 'ok' }, readerKey);
  assert.equal(reader.status, 200, 'the tenant entry allows every acme app');
  let last = reader;
  for (let i = 0; i < 5 && last.status !== 429; i++) last = await post({ text: 'ok' }, readerKey);
  assertProblem(last, 429, 'rate_limited');
});
