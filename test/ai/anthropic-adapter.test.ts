import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeAnthropic, type FakeProvider } from './fakes.ts';
import { aiConfig, collect, openaiClient, usageRows } from './support.ts';

// An OpenAI client talking to Claude through the gateway: the fake checks what the Messages
// API requires (x-api-key, anthropic-version, max_tokens, user/assistant roles only) and
// answers in its own message and SSE event shapes.

const key = 'sk-ant-test-key-000111222333';
let fake: FakeProvider;
let t: TestGateway;

before(async () => {
  process.env.PINPOINT_TEST_ANTHROPIC_KEY = key;
  fake = await startFakeAnthropic(key);
  t = await startTestGateway(aiConfig({
    providers: { claude: { type: 'anthropic', baseUrl: fake.url, apiKey: 'env://PINPOINT_TEST_ANTHROPIC_KEY' } },
    models: { sonnet: { provider: 'claude', model: 'claude-sonnet-4-5', maxOutputTokens: 1024 } },
    prices: { sonnet: { inputPerMillion: 3, outputPerMillion: 15 } },
    access: [{ tenant: 'acme', models: ['sonnet'] }],
  }));
});
after(async () => { await t.close(); await fake.close(); });

const tools = [{ type: 'function' as const, function: { name: 'lookup_order', description: 'Find an order', parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } } }];

test('system, tool calls and tool results are translated to the Messages API, with max_tokens and its headers', async () => {
  fake.script({ text: 'Order 1001 ships today.', usage: { input: 120, output: 7 } });
  const r = await openaiClient(t).chat.completions.create({
    model: 'sonnet', temperature: 0.5, stop: ['END'], tools, tool_choice: 'required',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Where is order 1001?' },
      { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'lookup_order', arguments: '{"id":"1001"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_01', content: 'status: ships today' },
    ],
  });
  assert.equal(r.choices[0]!.message.content, 'Order 1001 ships today.');
  assert.equal(r.choices[0]!.finish_reason, 'stop');
  assert.deepEqual(r.usage, { prompt_tokens: 120, completion_tokens: 7, total_tokens: 127 });
  const got = fake.received.at(-1)!;
  assert.equal(got.headers['x-api-key'], key);
  assert.equal(got.headers['anthropic-version'], '2023-06-01');
  assert.equal(got.headers.authorization, undefined);
  assert.deepEqual(got.body, {
    model: 'claude-sonnet-4-5', max_tokens: 1024, system: 'You are terse.', temperature: 0.5, stop_sequences: ['END'],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Where is order 1001?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'lookup_order', input: { id: '1001' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'status: ships today' }] },
    ],
    tools: [{ name: 'lookup_order', description: 'Find an order', input_schema: tools[0]!.function.parameters }],
    tool_choice: { type: 'any' },
  });
});

test('a tool_use answer becomes OpenAI tool_calls with finish_reason tool_calls', async () => {
  fake.script({ text: 'Checking.', toolCalls: [{ id: 'toolu_02', name: 'lookup_order', args: { id: '42' } }], stop: 'tool', usage: { input: 50, output: 20 } });
  const r = await openaiClient(t).chat.completions.create({ model: 'sonnet', max_tokens: 300, tools, messages: [{ role: 'user', content: 'Where is 42?' }] });
  const m = r.choices[0]!.message;
  assert.equal(m.content, 'Checking.');
  assert.deepEqual(m.tool_calls, [{ id: 'toolu_02', type: 'function', function: { name: 'lookup_order', arguments: '{"id":"42"}' } }]);
  assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(fake.received.at(-1)!.body.max_tokens, 300, 'the client\'s max_tokens wins over the model default');
});

test('the Messages SSE events stream as OpenAI chunks: text, tool call arguments, stop reason and usage', async () => {
  fake.script({ text: 'Looking it up', toolCalls: [{ id: 'toolu_03', name: 'lookup_order', args: { id: '7', verbose: true } }], stop: 'tool', usage: { input: 33, output: 17 } });
  const { data: stream, response } = await openaiClient(t).chat.completions.create({ model: 'sonnet', tools, messages: [{ role: 'user', content: 'Order 7?' }], stream: true, stream_options: { include_usage: true } }).withResponse();
  const { chunks, text } = await collect(stream);
  assert.equal(text, 'Looking it up');
  const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  assert.equal(calls[0]!.id, 'toolu_03');
  assert.equal(calls[0]!.function?.name, 'lookup_order');
  assert.deepEqual(JSON.parse(calls.map((c) => c.function?.arguments ?? '').join('')), { id: '7', verbose: true });
  assert.ok(calls.every((c) => c.index === 0));
  assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]!.finish_reason, 'tool_calls');
  assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 33, completion_tokens: 17, total_tokens: 50 });
  assert.equal(fake.received.at(-1)!.body.stream, true);
  const row = (await usageRows(t)).find((r) => r.request_id === response.headers.get('x-request-id'))!;
  assert.equal(row.total_tokens, 50);
  assert.equal(row.cost_nano_usd, 33 * 3000 + 17 * 15000);
  assert.equal(row.complete, 1);
});

test('max_tokens stop reason is finish_reason length', async () => {
  fake.script({ text: 'cut', stop: 'length', usage: { input: 3, output: 1 } });
  const r = await openaiClient(t).chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'long' }] });
  assert.equal(r.choices[0]!.finish_reason, 'length');
});

test('Anthropic 529 overloaded is 502 provider_unavailable; a 429 is provider_rate_limited', async () => {
  fake.script({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
  await assert.rejects(openaiClient(t).chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 502);
    assert.equal(err.code, 'provider_unavailable');
    return true;
  });
  fake.script({ error: { status: 429, type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit', retryAfter: '12' } });
  await assert.rejects(openaiClient(t).chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.RateLimitError);
    assert.equal(err.code, 'provider_rate_limited');
    assert.match(err.message, /rate_limit_error: Number of request tokens/);
    return true;
  });
});

test('an error event in the middle of the stream reaches the client as an error, after the text already sent', async () => {
  fake.script({ text: 'half of it', usage: { input: 4, output: 2 }, streamError: { type: 'overloaded_error', message: 'Overloaded' } });
  const stream = await openaiClient(t).chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  await assert.rejects((async () => { for await (const c of stream) text += c.choices[0]?.delta.content ?? ''; })(), (err: unknown) => {
    assert.ok(err instanceof OpenAI.APIError);
    assert.match(err.message, /unavailable/);
    return true;
  });
  assert.equal(text, 'half of it');
});
