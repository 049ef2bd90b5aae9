import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { runCli, startDemo, type RunningDemo } from '../support/cli.ts';

// DEMO.md, "AI gateway": the demo started exactly as `npm start` starts it, and the
// official OpenAI client as the application.

let demo: RunningDemo;
let base: string;
let dataDir: string;

before(async () => {
  demo = await startDemo('pinpoint-demo-ai-');
  base = demo.gateway;
  dataDir = demo.dataDir;
});

after(async () => {
  await demo.stop();
});

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
const messages = [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: 'Hello from Pinpoint' }];

test('demo-echo answers pk_demo_writer with the last user message reversed and one token per word', async () => {
  const r = await client('pk_demo_writer').chat.completions.create({ model: 'demo-echo', messages });
  assert.equal(r.choices[0]!.message.content, 'tniopniP morf olleH');
  assert.deepEqual(r.usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
});

test('demo-echo streams one chunk per word when stream is true', async () => {
  const stream = await client('pk_demo_writer').chat.completions.create({ model: 'demo-echo', messages, stream: true, stream_options: { include_usage: true } });
  const contents: string[] = [];
  let usage: OpenAI.CompletionUsage | null | undefined;
  for await (const c of stream) {
    if (c.choices[0]?.delta.content) contents.push(c.choices[0].delta.content);
    if (c.usage) usage = c.usage;
  }
  assert.deepEqual(contents, ['tniopniP', ' morf', ' olleH']);
  assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
});

test('pk_demo_reader gets 403 model_not_allowed, and explain points at ai.access', async () => {
  let requestId = '';
  await assert.rejects(client('pk_demo_reader').chat.completions.create({ model: 'demo-echo', messages }), (err: unknown) => {
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'model_not_allowed');
    requestId = err.headers?.get('x-request-id') ?? '';
    return true;
  });
  assert.match(requestId, /^[0-9a-f-]{36}$/);
  await new Promise((r) => setTimeout(r, 200));
  const x = runCli(['explain', requestId, '--data-dir', dataDir]);
  assert.equal(x.status, 0, x.stderr);
  assert.match(x.stdout, /403 model_not_allowed/);
  assert.match(x.stdout, /DENY\s+ai-model-access/);
  assert.match(x.stdout, /\(ai\.access\)/);
});

test('GET /v1/models lists demo-echo for pk_demo_writer', async () => {
  const list = await client('pk_demo_writer').models.list();
  assert.deepEqual(list.data.map((m) => m.id), ['demo-echo']);
});

test('the demo prompt API /apis/reverse answers through the same model', async () => {
  const res = await fetch(`${base}/apis/reverse`, { method: 'POST', headers: { 'x-api-key': 'pk_demo_writer', 'content-type': 'application/json' }, body: JSON.stringify({ text: 'stressed desserts' }) });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { output: 'stressed desserts'.split('').reverse().join(''), model: 'demo-echo', usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } });
});
