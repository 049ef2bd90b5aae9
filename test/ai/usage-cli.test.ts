import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { aiConfig, openaiClient, otherKey, writerKey } from './support.ts';

// `pinpoint usage`: tokens and cost per tenant / app / key / model, read from the same
// data directory as the server's.

let t: TestGateway;

before(async () => {
  t = await startTestGateway(aiConfig({
    providers: { demo: { type: 'demo-echo' } },
    models: { 'demo-echo': { provider: 'demo' }, 'echo-embed': { provider: 'demo', kind: 'embeddings' } },
    prices: { 'demo-echo': { inputPerMillion: 1000, outputPerMillion: 2000 }, 'echo-embed': { inputPerMillion: 500 } },
    access: [{ tenant: 'acme', models: ['*'] }],
  }));
  const w = openaiClient(t, writerKey);
  const o = openaiClient(t, otherKey);
  await w.chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: 'one two three' }] }); // 3 + 3
  const s = await w.chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: 'four five' }], stream: true }); // 2 + 2
  for await (const _c of s) { /* drain */ }
  await o.chat.completions.create({ model: 'demo-echo', messages: [{ role: 'user', content: 'six' }] }); // 1 + 1
  await o.embeddings.create({ model: 'echo-embed', input: ['seven eight'] }); // 2
  await new Promise((r) => setTimeout(r, 200));
});
after(() => t.close());

test('usage --json aggregates tokens and exact cost per app and model', () => {
  const r = runCli(['usage', '--data-dir', t.dataDir, '--by', 'consumer,model', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const lines = (JSON.parse(r.stdout) as { lines: { group: Record<string, string>; requests: number; totalTokens: number; costNanoUsd: number }[] }).lines;
  const find = (consumer: string, model: string) => lines.find((l) => l.group.consumer === consumer && l.group.model === model)!;
  assert.deepEqual({ ...find('writer-app', 'demo-echo') }, { group: { consumer: 'writer-app', model: 'demo-echo' }, requests: 2, promptTokens: 5, completionTokens: 5, totalTokens: 10, costNanoUsd: 5 * 1_000_000 + 5 * 2_000_000, costUsd: 0.015 });
  assert.equal(find('other-app', 'demo-echo').totalTokens, 2);
  assert.equal(find('other-app', 'echo-embed').costNanoUsd, 2 * 500_000);
});

test('usage prints a table with a total, and filters by tenant and key', () => {
  const r = runCli(['usage', '--data-dir', t.dataDir, '--by', 'tenant,key', '--tenant', 'acme']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /tenant\s+key\s+requests\s+prompt\s+completion\s+total\s+cost \(USD\)/);
  assert.match(r.stdout, /acme\s+key_writer\s+2\s+5\s+5\s+10\s+0\.015000/);
  assert.match(r.stdout, /TOTAL\s+4\s+/);
  const none = runCli(['usage', '--data-dir', t.dataDir, '--tenant', 'globex']);
  assert.match(none.stdout, /no AI requests recorded/);
});

test('usage refuses an unknown dimension with its usage text', () => {
  const r = runCli(['usage', '--data-dir', t.dataDir, '--by', 'colour']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /"colour" is not one of tenant, consumer, key, model, provider, day/);
});
