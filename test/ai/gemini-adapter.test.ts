import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeGemini, type FakeProvider } from './fakes.ts';
import { aiConfig, collect, openaiClient, usageRows } from './support.ts';

// An OpenAI client talking to Gemini through the gateway: generateContent,
// streamGenerateContent?alt=sse, function calling, usageMetadata and Gemini's errors.

const key = 'AIzaTestKey_abcdefghijklmnop';
let fake: FakeProvider;
let t: TestGateway;

before(async () => {
  process.env.PINPOINT_TEST_GEMINI_KEY = key;
  fake = await startFakeGemini(key);
  t = await startTestGateway(aiConfig({
    providers: { google: { type: 'gemini', baseUrl: fake.url, apiKey: 'env://PINPOINT_TEST_GEMINI_KEY' } },
    models: { flash: { provider: 'google', model: 'gemini-2.5-flash', maxOutputTokens: 2048 }, 'g-embed': { provider: 'google', model: 'text-embedding-004', kind: 'embeddings' } },
    access: [{ consumer: 'writer-app', models: ['flash', 'g-embed'] }],
  }));
});
after(async () => { await t.close(); await fake.close(); });

const tools = [{ type: 'function' as const, function: { name: 'get_stock', description: 'Stock level', parameters: { type: 'object', properties: { sku: { type: 'string' } } } } }];

test('messages, tools and parameters are translated to generateContent, with the key in x-goog-api-key', async () => {
  fake.script({ text: 'There are 4 left.', usage: { input: 30, output: 5 } });
  const r = await openaiClient(t).chat.completions.create({
    model: 'flash', temperature: 0.1, top_p: 0.9, max_tokens: 64, tools, tool_choice: { type: 'function', function: { name: 'get_stock' } },
    messages: [
      { role: 'system', content: 'Answer with numbers.' },
      { role: 'user', content: 'How many A1?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_stock', arguments: '{"sku":"A1"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"level":4}' },
    ],
  });
  assert.equal(r.choices[0]!.message.content, 'There are 4 left.');
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  assert.deepEqual(r.usage, { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 });
  assert.equal(r.id, 'resp-fake-1');
  const got = fake.received.at(-1)!;
  assert.equal(got.url, '/v1beta/models/gemini-2.5-flash:generateContent');
  assert.equal(got.headers['x-goog-api-key'], key);
  assert.deepEqual(got.body, {
    contents: [
      { role: 'user', parts: [{ text: 'How many A1?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_stock', args: { sku: 'A1' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_stock', response: { level: 4 } } }] },
    ],
    systemInstruction: { parts: [{ text: 'Answer with numbers.' }] },
    tools: [{ functionDeclarations: [{ name: 'get_stock', description: 'Stock level', parameters: tools[0]!.function.parameters }] }],
    toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_stock'] } },
    generationConfig: { maxOutputTokens: 64, temperature: 0.1, topP: 0.9 },
  });
});

test('a functionCall answer becomes tool_calls with finish_reason tool_calls', async () => {
  fake.script({ toolCalls: [{ id: 'ignored', name: 'get_stock', args: { sku: 'B2' } }], usage: { input: 10, output: 4 } });
  const r = await openaiClient(t).chat.completions.create({ model: 'flash', tools, messages: [{ role: 'user', content: 'B2?' }] });
  const calls = r.choices[0]!.message.tool_calls!;
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.type, 'function');
  assert.deepEqual(JSON.parse((calls[0] as { function: { arguments: string } }).function.arguments), { sku: 'B2' });
  assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(fake.received.at(-1)!.body.generationConfig && (fake.received.at(-1)!.body.generationConfig as { maxOutputTokens: number }).maxOutputTokens, 2048);
});

test('streamGenerateContent?alt=sse streams as OpenAI chunks with the final usageMetadata as usage', async () => {
  fake.script({ text: 'one two three four', usage: { input: 9, output: 4 } });
  const { data: stream, response } = await openaiClient(t).chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'count' }], stream: true, stream_options: { include_usage: true } }).withResponse();
  const { chunks, text } = await collect(stream);
  assert.equal(text, 'one two three four');
  assert.equal(fake.received.at(-1)!.url, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]!.finish_reason, 'stop');
  assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
  const row = (await usageRows(t)).find((r) => r.request_id === response.headers.get('x-request-id'))!;
  assert.equal(row.total_tokens, 13);
});

test('a streamed function call arrives whole as one tool call delta', async () => {
  fake.script({ text: 'Let me see', toolCalls: [{ id: 'x', name: 'get_stock', args: { sku: 'C3' } }], usage: { input: 9, output: 6 } });
  const stream = await openaiClient(t).chat.completions.create({ model: 'flash', tools, messages: [{ role: 'user', content: 'C3?' }], stream: true });
  const { chunks } = await collect(stream);
  const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.function?.name, 'get_stock');
  assert.deepEqual(JSON.parse(calls[0]!.function!.arguments!), { sku: 'C3' });
  assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]!.finish_reason, 'tool_calls');
});

test('response_format json_schema becomes responseMimeType and responseJsonSchema', async () => {
  fake.script({ text: '{"n": 1}', usage: { input: 1, output: 1 } });
  const schema = { type: 'object', properties: { n: { type: 'number' } } };
  await openaiClient(t).chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'n?' }], response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } });
  const gen = fake.received.at(-1)!.body.generationConfig as Record<string, unknown>;
  assert.equal(gen.responseMimeType, 'application/json');
  assert.deepEqual(gen.responseJsonSchema, schema);
});

test('Gemini RESOURCE_EXHAUSTED is provider_rate_limited, and its 400 "API key not valid" is provider_auth_failed', async () => {
  fake.script({ error: { status: 429, type: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).' } });
  await assert.rejects(openaiClient(t).chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.RateLimitError);
    assert.equal(err.code, 'provider_rate_limited');
    return true;
  });
  fake.script({ error: { status: 400, type: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' } });
  await assert.rejects(openaiClient(t).chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 502);
    assert.equal(err.code, 'provider_auth_failed');
    return true;
  });
});

test('embeddings go to batchEmbedContents with one request per input', async () => {
  fake.script({ usage: { input: 0, output: 0 } });
  const r = await openaiClient(t).embeddings.create({ model: 'g-embed', input: ['a', 'b', 'c'] });
  assert.deepEqual(r.data.map((d) => d.embedding), [[0, 0.125], [1, 0.125], [2, 0.125]]);
  const got = fake.received.at(-1)!;
  assert.equal(got.url, '/v1beta/models/text-embedding-004:batchEmbedContents');
  assert.deepEqual(got.body.requests, ['a', 'b', 'c'].map((text) => ({ model: 'models/text-embedding-004', content: { parts: [{ text }] } })));
});
