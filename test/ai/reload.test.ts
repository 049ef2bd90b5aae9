import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { aiConfig, openaiClient, readerKey } from './support.ts';

// The ai section reloads like the rest of the config; usage and quota accounts survive it.

let t: TestGateway;
const ai = (readerModels: string[] | null, tokens: number) => ({
  providers: { demo: { type: 'demo-echo' } },
  models: { 'demo-echo': { provider: 'demo' } },
  access: readerModels ? [{ consumer: 'reader-app', models: readerModels }] : [],
  quotas: [{ id: 'reader-day', by: 'consumer', period: 'day', tokens }],
});

before(async () => { t = await startTestGateway(aiConfig(ai(null, 10))); });
after(() => t.close());

const ask = () => openaiClient(t, readerKey).chat.completions.create({ model: 'demo-echo', max_tokens: 2, messages: [{ role: 'user', content: 'a b' }] });

test('granting a model in ai.access takes effect on reload, and the quota used before a reload still counts after it', async () => {
  await assert.rejects(ask(), (e: unknown) => e instanceof OpenAI.PermissionDeniedError && e.code === 'model_not_allowed');
  assert.equal(t.rewrite(aiConfig(ai(['demo-echo'], 10))).ok, true);
  await ask(); // 2 + 2 tokens
  await ask(); // 8 of 10 used
  // Raising the limit keeps the 8 tokens used; a third request fits in 12 ...
  assert.equal(t.rewrite(aiConfig(ai(['demo-echo'], 12))).ok, true);
  await ask();
  // ... and a fourth does not (12 used).
  await assert.rejects(ask(), (e: unknown) => e instanceof OpenAI.RateLimitError && e.code === 'quota_exhausted' && /\(12 tokens used\)/.test(e.message));
});

test('a broken ai section is refused with its location and the running config keeps serving', async () => {
  const r = t.rewrite(aiConfig({ ...ai(['demo-echo'], 12), models: { 'demo-echo': { provider: 'nope' } } }));
  assert.equal(r.ok, false);
  assert.match(r.message, /ai\.models\.demo-echo\.provider: provider "nope" is not declared under ai\.providers \(declared: demo\)/);
  await assert.rejects(ask(), (e: unknown) => e instanceof OpenAI.RateLimitError && e.code === 'quota_exhausted');
});
