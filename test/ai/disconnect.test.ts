import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeOpenAi, type FakeProvider } from './fakes.ts';
import { aiConfig, openaiClient, usageRows, writerKey } from './support.ts';

// A client that leaves in the middle of a stream: the provider call is cancelled, the quota
// reservation is released, the usage row says it is incomplete, and the trace says 499.

const MESSAGES = [{ role: 'user', content: 'go' }];
const WORST = Buffer.byteLength(JSON.stringify(MESSAGES)) + 50;
let fake: FakeProvider;
let t: TestGateway;

before(async () => {
  fake = await startFakeOpenAi({ key: null });
  t = await startTestGateway(aiConfig({
    providers: { up: { type: 'openai-compatible', baseUrl: `${fake.url}/v1` } },
    models: { m: { provider: 'up', model: 'slow' } },
    access: [{ consumer: 'writer-app', models: ['m'] }],
    // Room for two worst cases at once (prompt bound: the messages' JSON bytes, + max_tokens 50)
    // beside the small estimate charged for the abandoned stream.
    quotas: [{ id: 'tight', by: 'consumer', period: 'day', tokens: 2 * WORST + 20 }],
  }));
});
after(async () => { await t.close(); await fake.close(); });

test('leaving mid-stream cancels the provider call, releases the reservation and records a 499 with partial usage', async () => {
  fake.script({ text: Array.from({ length: 40 }, (_v, i) => `w${i}`).join(' '), usage: { input: 5, output: 40 }, delayMs: 20 });
  const requestId = await new Promise<string>((resolve, reject) => {
    const u = new URL(`${t.url}/v1/chat/completions`);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'x-api-key': writerKey, 'content-type': 'application/json' } }, (res) => {
      res.once('data', () => { const id = String(res.headers['x-request-id']); req.destroy(); resolve(id); });
    });
    req.on('error', () => { /* destroyed on purpose */ });
    req.end(JSON.stringify({ model: 'm', max_tokens: 50, stream: true, messages: MESSAGES }));
    setTimeout(() => reject(new Error('no first chunk')), 5000);
  });
  await new Promise((r) => setTimeout(r, 300));
  const rows = (await usageRows(t)).filter((r) => r.request_id === requestId);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.complete, 0, 'the usage row says the stream did not finish');
  // The provider's usage never came: an estimate is charged (at least one token per chunk
  // received, and the prompt), so that leaving early is not free.
  assert.ok(rows[0]!.completion_tokens >= 1, `completion estimated: ${rows[0]!.completion_tokens}`);
  assert.ok(rows[0]!.prompt_tokens >= 1, `prompt estimated: ${rows[0]!.prompt_tokens}`);
  await t.gateway.writer.flush();
  // The provider saw its connection closed before it finished writing 40 words at 20 ms each.
  const { findTrace } = await import('../../src/store/sqlite/call-log-store.ts');
  const { openDatabase } = await import('../../src/store/sqlite/database.ts');
  const db = openDatabase(t.databaseFile, { readOnly: true });
  const trace = findTrace(db, requestId);
  db.close();
  assert.equal(trace?.status, 499);
  assert.equal(trace?.upstream?.aborted, 'client closed the connection');
  // The reservation was released: had it leaked, the second of three concurrent streams would
  // be the one uncovered request and the third would be refused.
  fake.script({ text: 'short', usage: { input: 5, output: 1 }, delayMs: 30 });
  const results = await Promise.allSettled([1, 2, 3].map(async () => {
    const s = await openaiClient(t).chat.completions.create({ model: 'm', max_tokens: 50, stream: true, messages: MESSAGES as { role: 'user'; content: string }[] });
    for await (const _c of s) { /* drain */ }
  }));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled']);
});
