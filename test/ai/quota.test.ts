import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { startGateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { startFakeOpenAi, type FakeProvider } from './fakes.ts';
import { aiConfig, otherKey, readerKey, usageRows } from './support.ts';

// Token and spend quotas under concurrent streams: accounting is exact, and a quota is never
// exceeded by more than one in-flight request (one node here).

let fake: FakeProvider;
let t: TestGateway;
const LIMIT = 100;
const PER_REQUEST = 15; // the fake reports 10 prompt + 5 completion tokens

const config = (spend: boolean) => aiConfig({
  providers: { up: { type: 'openai-compatible', baseUrl: `${fake.url}/v1` } },
  models: { m: { provider: 'up', model: 'slow-model' } },
  prices: { m: { inputPerMillion: 100, outputPerMillion: 200 } },
  access: [{ tenant: 'acme', models: ['m'] }],
  quotas: spend
    // 10 x $100/M + 5 x $200/M = $0.002 per request; $0.005 admits two and a half.
    ? [{ id: 'tenant-monthly-spend', by: 'key', period: 'month', spendUsd: 0.005 }]
    : [{ id: 'reader-daily-tokens', by: 'consumer', period: 'day', tokens: LIMIT, models: ['m'] }],
});

before(async () => {
  fake = await startFakeOpenAi({ key: null });
  fake.script({ text: 'one two three four five', usage: { input: 10, output: 5 }, delayMs: 15 });
  t = await startTestGateway(config(false));
});
after(async () => { await t.close(); await fake.close(); });

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });

async function streamOnce(key: string): Promise<{ ok: true } | { ok: false; err: InstanceType<typeof OpenAI.APIError> }> {
  try {
    const s = await client(key).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5, stream: true });
    for await (const _c of s) { /* drain */ }
    return { ok: true };
  } catch (err) {
    if (err instanceof OpenAI.APIError) return { ok: false, err };
    throw err;
  }
}

test('concurrent streams against a token quota: exact accounting, overshoot bounded by one request, then quota_exhausted with the reset time', async () => {
  let admitted = 0;
  let lastRefusals: InstanceType<typeof OpenAI.APIError>[] = [];
  let heldWhileStreaming = 0;
  for (let wave = 0; wave < 20; wave++) {
    const results = await Promise.all(Array.from({ length: 12 }, () => streamOnce(readerKey)));
    const ok = results.filter((r) => r.ok).length;
    const refused = results.flatMap((r) => (r.ok ? [] : [r.err]));
    for (const e of refused) {
      assert.equal(e.status, 429);
      assert.equal(e.code, 'quota_exhausted');
    }
    heldWhileStreaming += refused.filter((e) => /held by requests in progress/.test(e.message)).length;
    admitted += ok;
    lastRefusals = refused;
    if (ok === 0) break;
    assert.ok(ok < 12, 'a wave larger than the quota is never admitted whole');
  }
  assert.ok(heldWhileStreaming > 0, 'some requests were refused while others streamed: the waves really overlapped');
  const rows = (await usageRows(t)).filter((r) => r.consumer_id === 'reader-app');
  assert.equal(rows.length, admitted, 'one usage row per admitted request');
  const used = rows.reduce((n, r) => n + r.total_tokens, 0);
  assert.equal(used, admitted * PER_REQUEST, 'the recorded usage is exactly what the provider reported');
  assert.ok(used > LIMIT - PER_REQUEST, `the quota was used (${used} of ${LIMIT})`);
  assert.ok(used <= LIMIT + PER_REQUEST, `at most one in-flight request beyond the quota: used ${used}, limit ${LIMIT}`);
  // The final refusals say the quota is used up (not merely held) and when it resets.
  const e = lastRefusals[0]!;
  assert.match(e.message, /daily token quota "reader-daily-tokens" of 100 tokens per consumer is used up .* resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z/);
  const retry = Number(e.headers?.get('retry-after'));
  assert.ok(retry > 1 && retry <= 86_400, `Retry-After ${retry} counts down to midnight UTC`);
});

test('a restarted gateway reads the period\'s usage back: the exhausted quota stays exhausted', async () => {
  await t.gateway.close();
  const g = await startGateway({ configFile: t.configFile, databaseFile: t.databaseFile, logger: silentLogger, port: 0, host: '127.0.0.1' });
  try {
    const c = new OpenAI({ apiKey: readerKey, baseURL: `${g.url}/v1`, maxRetries: 0 });
    await assert.rejects(c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.code, 'quota_exhausted');
      return true;
    });
  } finally {
    await g.close();
    // Hand the test gateway a fresh one so `after` can close it.
    t = { ...t, close: async () => { rmSync(t.dataDir, { recursive: true, force: true }); } } as TestGateway;
  }
});

test('a spend quota counts cost from the price table and refuses once the money is spent', async () => {
  const t2 = await startTestGateway(config(true));
  try {
    const c = new OpenAI({ apiKey: otherKey, baseURL: `${t2.url}/v1`, maxRetries: 0 });
    const results: string[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 });
        results.push('ok');
      } catch (err) {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.code, 'quota_exhausted');
        assert.match(err.message, /monthly spend quota "tenant-monthly-spend" of \$0\.005 per key/);
        results.push('refused');
      }
    }
    // $0.002 each: 0.002, 0.004 fit; the third is admitted uncovered (0.006); then refused.
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'refused', 'refused']);
    const rows = (await usageRows(t2)).filter((r) => r.consumer_id === 'other-app');
    assert.equal(rows.reduce((n, r) => n + r.cost_nano_usd, 0), 3 * 2_000_000);
  } finally {
    await t2.close();
  }
});
