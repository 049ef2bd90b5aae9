import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';
import { call, startTestGateway, type TestGateway } from '../support/harness.ts';
import { aiConfig, collect, openaiClient, readerKey, usageRows, writerKey } from './support.ts';

// /v1/chat/completions with the built-in demo-echo provider, through the normal chain:
// the official OpenAI client as the application, the trace and usage as the operator sees them.

let t: TestGateway;

before(async () => {
  t = await startTestGateway(aiConfig({
    providers: { demo: { type: 'demo-echo' } },
    models: { 'demo-echo': { provider: 'demo' } },
    prices: { 'demo-echo': { inputPerMillion: 1.5, outputPerMillion: 3 } },
    access: [{ consumer: 'writer-app', models: ['demo-echo'] }],
  }));
});
after(() => t.close());

const ask = [{ role: 'user' as const, content: 'make it  backwards please' }];

describe('chat completions through the openai client', () => {
  test('a plain completion answers the reversed last user message with word-count usage', async () => {
    const client = openaiClient(t);
    const { data, response } = await client.chat.completions.create({
      model: 'demo-echo', messages: [{ role: 'system', content: 'you echo' }, { role: 'user', content: 'first one' }, { role: 'assistant', content: 'eno tsrif' }, ...ask],
    }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0]!.message.content, 'esaelp sdrawkcab  ti ekam');
    assert.equal(data.choices[0]!.finish_reason, 'stop');
    // prompt: 2 + 2 + 2 + 4 words; completion: 4 words
    assert.deepEqual(data.usage, { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 });
    const requestId = response.headers.get('x-request-id')!;
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    const rows = (await usageRows(t)).filter((r) => r.request_id === requestId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.consumer_id, 'writer-app');
    assert.equal(rows[0]!.credential_id, 'key_writer');
    assert.equal(rows[0]!.tenant_id, 'acme');
    assert.equal(rows[0]!.total_tokens, 14);
    // 10 x $1.5/M + 4 x $3/M = $0.000027 = 27000 nano-USD
    assert.equal(rows[0]!.cost_nano_usd, 27_000);
  });

  test('a streamed completion arrives as one chunk per word and joins back to the answer', async () => {
    const client = openaiClient(t);
    const stream = await client.chat.completions.create({ model: 'demo-echo', messages: ask, stream: true });
    const { chunks, text } = await collect(stream);
    assert.equal(text, 'esaelp sdrawkcab  ti ekam');
    assert.equal(chunks.length, 4, 'one chunk per word and no usage chunk when the client did not ask for usage');
    assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop');
    assert.ok(chunks.every((c) => c.usage === undefined || c.usage === null));
  });

  test('stream_options.include_usage adds the usage chunk the OpenAI API sends, and usage is accounted either way', async () => {
    const client = openaiClient(t);
    const { data: stream, response } = await client.chat.completions.create({ model: 'demo-echo', messages: ask, stream: true, stream_options: { include_usage: true } }).withResponse();
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const { chunks } = await collect(stream);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    const rows = (await usageRows(t)).filter((r) => r.request_id === response.headers.get('x-request-id'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.stream, 1);
    assert.equal(rows[0]!.complete, 1);
    assert.equal(rows[0]!.total_tokens, 8);
  });

  test('a long in-process stream (20000 words) arrives whole, one chunk per word', async () => {
    const long = Array.from({ length: 20_000 }, (_v, i) => `word${i}`).join(' ');
    const { chunks, text } = await collect(await openaiClient(t).chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: long }], max_tokens: 20_000, stream: true }));
    assert.equal(text, [...long].reverse().join(''));
    assert.equal(chunks.length, 20_000);
  });

  test('max_tokens cuts the answer and reports finish_reason length', async () => {
    const { choices, usage } = await openaiClient(t).chat.completions.create({ model: 'demo-echo', messages: ask, max_tokens: 2 });
    assert.equal(choices[0]!.message.content, 'esaelp sdrawkcab');
    assert.equal(choices[0]!.finish_reason, 'length');
    assert.equal(usage!.completion_tokens, 2);
  });

  test('the key may come as X-API-Key as well as the bearer token OpenAI SDKs send', async () => {
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: ask }) });
    assert.equal(a.status, 200);
    assert.equal((a.json.choices as { message: { content: string } }[])[0]!.message.content, 'esaelp sdrawkcab  ti ekam');
  });

  test('the trace carries the identity, the AI record, the provider attempt and the usage', async () => {
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${writerKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: ask }) });
    const trace = await traceOf(t, a);
    assert.equal(trace.routeId, 'ai-chat');
    assert.equal(trace.status, 200);
    assert.equal(trace.answeredBy, 'upstream');
    assert.equal(trace.identity?.consumerId, 'writer-app');
    assert.equal(checkRecord(trace, 'api-key:bearer').outcome, 'continue');
    assert.equal(checkRecord(trace, 'ai').outcome, 'continue');
    assert.equal(trace.upstream?.name, 'ai:demo');
    assert.deepEqual(trace.upstream?.attempts, [{ target: 'demo/demo-echo', status: 200 }]);
    assert.equal(trace.extra?.prompt_tokens, 4);
    assert.equal(trace.extra?.completion_tokens, 4);
    assert.equal(JSON.stringify(trace).includes(writerKey), false, 'the key never reaches the trace');
  });
});

describe('refusals the openai client sees', () => {
  test('an app without the model in its allow-list gets 403 model_not_allowed, surfaced by the SDK as err.code', async () => {
    await assert.rejects(openaiClient(t, readerKey).chat.completions.create({ model: 'demo-echo', messages: ask }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.PermissionDeniedError);
      assert.equal(err.status, 403);
      assert.equal(err.code, 'model_not_allowed');
      assert.match(err.message, /may not use model "demo-echo"/);
      return true;
    });
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': readerKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: ask, stream: true }) });
    assertProblem(a, 403, 'model_not_allowed');
    const trace = await traceOf(t, a);
    const rec = checkRecord(trace, 'ai-model-access');
    assert.equal(rec.outcome, 'deny');
    assert.equal(rec.evidence?.consumer, 'reader-app');
    assert.equal(rec.source?.path, 'ai.access');
  });

  test('no credential gets 401 credential_missing from the chain, before any model is called', async () => {
    const a = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: ask }) });
    assertProblem(a, 401, 'credential_missing');
    assert.match(a.headers.get('www-authenticate') ?? '', /Bearer realm=/);
  });

  test('an unknown bearer key gets 401 credential_unknown', async () => {
    await assert.rejects(openaiClient(t, 'pk_not_a_key').chat.completions.create({ model: 'demo-echo', messages: ask }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.AuthenticationError);
      assert.equal(err.code, 'credential_unknown');
      return true;
    });
  });

  test('an unknown model gets 404 model_not_found naming the models the app may use', async () => {
    await assert.rejects(openaiClient(t).chat.completions.create({ model: 'gpt-imaginary', messages: ask }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /may use: demo-echo/);
      return true;
    });
  });

  test('a body without messages, or not JSON, gets 400 ai_request_invalid naming the field', async () => {
    const post = (body: string) => call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' }, body });
    const a = await post(JSON.stringify({ model: 'demo-echo' }));
    assertProblem(a, 400, 'ai_request_invalid');
    assert.match(a.json.detail as string, /messages/);
    const b = await post('{"model": "demo-echo", ');
    assertProblem(b, 400, 'ai_request_invalid');
    assert.match(b.json.detail as string, /not valid JSON/);
    const c = await post(JSON.stringify({ model: 'demo-echo', messages: [{ role: 'wizard', content: 'x' }] }));
    assertProblem(c, 400, 'ai_request_invalid');
    assert.match(c.json.detail as string, /messages\.0\.role/);
  });
});
