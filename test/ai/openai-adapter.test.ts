import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { assertProblem, traceOf } from '../support/assertions.ts';
import { call, startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeOpenAi, type FakeProvider } from './fakes.ts';
import { aiConfig, collect, openaiClient, usageRows, writerKey } from './support.ts';

// OpenAI, Azure OpenAI and OpenAI-compatible providers behind the gateway: the official
// client on one side, fakes speaking the OpenAI wire format on the other.

const providerKey = 'sk-test-openai-0123456789abcdef';
const azureKey = 'azure-test-key-42';
let openai: FakeProvider;
let azure: FakeProvider;
let local: FakeProvider;
let t: TestGateway;

before(async () => {
  process.env.PINPOINT_TEST_OPENAI_KEY = providerKey;
  process.env.PINPOINT_TEST_AZURE_KEY = azureKey;
  openai = await startFakeOpenAi({ key: providerKey });
  azure = await startFakeOpenAi({ key: azureKey, header: 'api-key' });
  local = await startFakeOpenAi({ key: null });
  t = await startTestGateway(aiConfig({
    providers: {
      openai: { type: 'openai', baseUrl: `${openai.url}/v1`, apiKey: 'env://PINPOINT_TEST_OPENAI_KEY' },
      azure: { type: 'azure-openai', baseUrl: azure.url, apiKey: 'env://PINPOINT_TEST_AZURE_KEY', apiVersion: '2024-10-21' },
      ollama: { type: 'openai-compatible', baseUrl: `${local.url}/v1` },
    },
    models: {
      'gpt-4o': { provider: 'openai', model: 'gpt-4o-2024-08-06' },
      'azure-gpt': { provider: 'azure', model: 'my-gpt4o-deployment' },
      llama: { provider: 'ollama', model: 'llama3.1:8b' },
      'text-embed': { provider: 'openai', model: 'text-embedding-3-small', kind: 'embeddings' },
    },
    prices: { 'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 }, 'text-embed': { inputPerMillion: 0.02 } },
    access: [{ consumer: 'writer-app', models: ['*'] }],
  }));
});
after(async () => { await t.close(); await openai.close(); await azure.close(); await local.close(); });

const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

describe('openai provider', () => {
  test('a completion reaches OpenAI with the provider model name and the provider key, and comes back unchanged', async () => {
    openai.script({ text: 'Hi there', usage: { input: 12, output: 3 } });
    const r = await openaiClient(t).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], temperature: 0.2, user: 'u-1' });
    assert.equal(r.choices[0]!.message.content, 'Hi there');
    assert.equal(r.model, 'gpt-4o-2024-08-06');
    assert.deepEqual(r.usage, { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    const got = openai.received.at(-1)!;
    assert.equal(got.url, '/v1/chat/completions');
    assert.equal(got.headers.authorization, `Bearer ${providerKey}`, 'the provider key from env://, never the app key');
    assert.equal(got.body.model, 'gpt-4o-2024-08-06');
    assert.equal(got.body.temperature, 0.2);
    assert.equal(got.body.user, 'u-1');
    assert.equal(JSON.stringify(got.headers).includes(writerKey), false, 'the app key is not forwarded to the provider');
  });

  test('a streamed tool call is reassembled by the client, and usage is accounted although the client did not ask for it', async () => {
    openai.script({ toolCalls: [{ id: 'call_abc', name: 'get_weather', args: { city: 'Paris' } }], stop: 'tool', usage: { input: 40, output: 9 } });
    const { data: stream, response } = await openaiClient(t).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weather], stream: true }).withResponse();
    const { chunks } = await collect(stream);
    const args = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((tc) => tc.function?.arguments ?? '').join('');
    assert.deepEqual(JSON.parse(args), { city: 'Paris' });
    assert.equal(chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])[0]!.function?.name, 'get_weather');
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'tool_calls');
    assert.ok(chunks.every((c) => !c.usage), 'no usage chunk the client did not ask for');
    const sent = openai.received.at(-1)!.body;
    assert.deepEqual(sent.stream_options, { include_usage: true }, 'the gateway asks the provider for usage');
    assert.deepEqual(sent.tools, [weather]);
    const row = (await usageRows(t)).find((r) => r.request_id === response.headers.get('x-request-id'))!;
    assert.equal(row.prompt_tokens, 40);
    assert.equal(row.completion_tokens, 9);
    // 40 x 2.5 + 9 x 10 = 190 micro-USD
    assert.equal(row.cost_nano_usd, 190_000);
  });

  test('the tool result turn is passed on in the OpenAI format', async () => {
    openai.script({ text: 'It is sunny in Paris.', usage: { input: 60, output: 6 } });
    const r = await openaiClient(t).chat.completions.create({
      model: 'gpt-4o', tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_abc', content: '{"sky":"clear"}' },
      ],
    });
    assert.equal(r.choices[0]!.message.content, 'It is sunny in Paris.');
    const msgs = openai.received.at(-1)!.body.messages as { role: string; tool_call_id?: string }[];
    assert.equal(msgs[2]!.role, 'tool');
    assert.equal(msgs[2]!.tool_call_id, 'call_abc');
  });

  test('a provider 429 becomes 429 provider_rate_limited with the provider\'s Retry-After, saying the provider refused', async () => {
    openai.script({ error: { status: 429, type: 'requests', message: 'Rate limit reached for gpt-4o on requests per min (RPM): Limit 3.', retryAfter: '7' } });
    await assert.rejects(openaiClient(t).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.code, 'provider_rate_limited');
      assert.equal(err.headers?.get('retry-after'), '7');
      assert.match(err.message, /provider "openai".*rate limiting this gateway.*Rate limit reached/);
      return true;
    });
  });

  test('a refused provider key becomes 502 provider_auth_failed, and no part of any key reaches the caller or the trace', async () => {
    openai.script({ error: { status: 401, type: 'invalid_request_error', message: `Incorrect API key provided: ${providerKey}.` } });
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${writerKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }) });
    assertProblem(a, 502, 'provider_auth_failed');
    assert.equal(a.text.includes('sk-test'), false);
    const trace = await traceOf(t, a);
    assert.equal(JSON.stringify(trace).includes(providerKey), false);
    assert.equal(JSON.stringify(trace).includes(writerKey), false);
    assert.equal(trace.upstream?.attempts[0]?.status, 401);
    assert.equal(trace.deniedBy, 'ai-provider');
  });

  test('a provider 500 is 502 provider_unavailable and a provider 400 is 400 provider_bad_request with its message', async () => {
    openai.script({ error: { status: 500, type: 'server_error', message: 'The server had an error while processing your request.' } });
    const post = () => call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }) });
    assertProblem(await post(), 502, 'provider_unavailable');
    openai.script({ error: { status: 400, type: 'invalid_request_error', message: "This model's maximum context length is 128000 tokens." } });
    const b = await post();
    assertProblem(b, 400, 'provider_bad_request');
    assert.match(b.json.detail as string, /maximum context length is 128000/);
  });

  test('embeddings go to /v1/embeddings and come back in order with usage and cost', async () => {
    openai.script({ usage: { input: 8, output: 0 } });
    const { data, response } = await openaiClient(t).embeddings.create({ model: 'text-embed', input: ['alpha', 'beta'] }).withResponse();
    assert.deepEqual(data.data.map((d) => d.embedding), [[0, 0.5, -0.25], [1, 0.5, -0.25]]);
    assert.equal(data.usage.prompt_tokens, 8);
    const got = openai.received.at(-1)!;
    assert.equal(got.url, '/v1/embeddings');
    assert.equal(got.body.model, 'text-embedding-3-small');
    const row = (await usageRows(t)).find((r) => r.request_id === response.headers.get('x-request-id'))!;
    assert.equal(row.endpoint, 'embeddings');
    assert.equal(row.cost_nano_usd, 160);
  });

  test('a chat model on the embeddings endpoint is refused 400 ai_request_invalid', async () => {
    await assert.rejects(openaiClient(t).embeddings.create({ model: 'gpt-4o', input: 'x' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, 'ai_request_invalid');
      return true;
    });
  });

  test('GET /v1/models lists the app\'s models and GET /v1/models/{id} one of them', async () => {
    const list = await openaiClient(t).models.list();
    assert.deepEqual(list.data.map((m) => m.id).sort(), ['azure-gpt', 'gpt-4o', 'llama', 'text-embed']);
    const one = await openaiClient(t).models.retrieve('llama');
    assert.equal(one.owned_by, 'ollama');
  });
});

describe('azure-openai and openai-compatible providers', () => {
  test('Azure gets the deployment path, the api-version and its api-key header', async () => {
    azure.script({ text: 'from azure', usage: { input: 2, output: 2 } });
    const r = await openaiClient(t).chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(r.choices[0]!.message.content, 'from azure');
    const got = azure.received.at(-1)!;
    assert.equal(got.url, '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21');
    assert.equal(got.headers['api-key'], azureKey);
    assert.equal(got.headers.authorization, undefined);
  });

  test('a keyless OpenAI-compatible server (Ollama, vLLM) gets no Authorization header and streams through', async () => {
    local.script({ text: 'local model here', usage: { input: 5, output: 3 } });
    const stream = await openaiClient(t).chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    const { chunks, text } = await collect(stream);
    assert.equal(text, 'local model here');
    assert.deepEqual(chunks.at(-1)!.usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    const got = local.received.at(-1)!;
    assert.equal(got.headers.authorization, undefined);
    assert.equal(got.body.model, 'llama3.1:8b');
  });

  test('a long stream written as fast as the socket allows arrives whole and in order', async () => {
    const words = Array.from({ length: 5000 }, (_v, i) => `w${i}`).join(' ');
    local.script({ text: words, usage: { input: 1, output: 5000 }, delayMs: -1 });
    const { chunks, text } = await collect(await openaiClient(t).chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'go' }], stream: true }));
    assert.equal(text, words);
    assert.equal(chunks.length, 5002, 'role chunk, 5000 words, finish chunk');
  });

  test('an error event in the middle of a stream ends it with an error the client raises', async () => {
    local.script({ text: 'partial answer', usage: { input: 5, output: 3 }, streamError: { type: 'server_error', message: 'model crashed' } });
    const stream = await openaiClient(t).chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    await assert.rejects((async () => { for await (const c of stream) text += c.choices[0]?.delta.content ?? ''; })(), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.match(err.message, /provider "ollama"/);
      return true;
    });
    assert.equal(text, 'partial answer');
  });
});

test('a compatible server that reports no usage is charged an estimate, marked incomplete', async () => {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'old-server', choices: [{ index: 0, message: { role: 'assistant', content: 'twelve chars' }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const g = await startTestGateway(aiConfig({
    providers: { old: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${port}/v1` } },
    models: { old: { provider: 'old' } },
    access: [{ consumer: 'writer-app', models: ['old'] }],
  }));
  try {
    const { data, response } = await openaiClient(g).chat.completions.create({ model: 'old', messages: [{ role: 'user', content: 'sixteen chars ok' }] }).withResponse();
    assert.equal(data.choices[0]!.message.content, 'twelve chars');
    assert.equal(data.usage, undefined, 'the client gets the provider answer as it was');
    const row = (await usageRows(g)).find((r) => r.request_id === response.headers.get('x-request-id'))!;
    assert.equal(row.complete, 0);
    assert.equal(row.completion_tokens, 3, '12 characters / 4');
    assert.equal(row.prompt_tokens, 4 + 3, '16 characters / 4, + 3 per message');
  } finally {
    await g.close();
    server.close();
  }
});
