import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { call, keyEntry, startTestGateway, type TestGateway } from '../support/harness.ts';

// The route's body limit holds on AI routes, also for a chunked body whose size is only
// known while it is read.

let t: TestGateway;

before(async () => {
  t = await startTestGateway({
    consumers: [{ id: 'app', keys: [keyEntry('pk_body_limit', 'k')] }],
    routes: [{ id: 'ai-chat', path: '/v1/chat/completions', methods: ['POST'], upstream: 'ai', auth: ['apiKey'], maxBodyBytes: 2048 }],
    ai: { providers: { demo: { type: 'demo-echo' } }, models: { 'demo-echo': { provider: 'demo' } }, access: [{ consumer: 'app', models: ['demo-echo'] }] },
  });
});
after(() => t.close());

const body = (words: number) => JSON.stringify({ model: 'demo-echo', messages: [{ role: 'user', content: 'word '.repeat(words) }] });

test('a chunked body over the route limit gets 413 payload_too_large; one under it is answered', async () => {
  const big = await call(`${t.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'x-api-key': 'pk_body_limit', 'content-type': 'application/json' },
    body: Readable.toWeb(Readable.from([Buffer.from(body(1000))])) as ReadableStream, duplex: 'half',
  } as RequestInit);
  assertProblem(big, 413, 'payload_too_large');
  const small = await call(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': 'pk_body_limit', 'content-type': 'application/json' }, body: body(10) });
  assert.equal(small.status, 200);
  assert.equal((small.json.usage as { prompt_tokens: number }).prompt_tokens, 10);
});
