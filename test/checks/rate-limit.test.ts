import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, keyEntry, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';

// Rate limits and quotas over real HTTP: counted per key, announced on every answer with
// the IETF RateLimit headers and X-RateLimit-*, refused with 429 and Retry-After, and
// kept across a config reload.

const KEYS = {
  alpha: 'pk_rl_alpha_5a4b3c2d1e0f9a8b',
  beta: 'pk_rl_beta_1f2e3d4c5b6a7988',
  gamma: 'pk_rl_gamma_8c7d6e5f4a3b2c1d',
  delta: 'pk_rl_delta_3e4f5a6b7c8d9e0f',
  epsilon: 'pk_rl_epsilon_6b5a4f3e2d1c0b9a',
} as const;

const baseConfig = (upstreamUrl: string, slidingLimit = 3) => ({
  upstreams: { backend: { targets: [{ url: upstreamUrl }] } },
  consumers: [{
    id: 'mobile-app',
    keys: [
      keyEntry(KEYS.alpha, 'alpha'), keyEntry(KEYS.beta, 'beta'), keyEntry(KEYS.gamma, 'gamma'),
      keyEntry(KEYS.delta, 'delta'), keyEntry(KEYS.epsilon, 'epsilon'),
    ],
  }],
  routes: [
    { id: 'search', path: '/search', methods: ['GET'], upstream: 'backend', auth: ['apiKey'], rateLimit: { id: 'search-per-key', limit: slidingLimit, windowSeconds: 60, algorithm: 'sliding-log' } },
    { id: 'feed', path: '/feed', methods: ['GET'], upstream: 'backend', auth: ['apiKey'], rateLimit: { id: 'feed-burst', limit: 5, windowSeconds: 60, algorithm: 'gcra' } },
    { id: 'export', path: '/export', methods: ['GET'], upstream: 'backend', auth: ['apiKey'], quota: { id: 'export-daily', limit: 2, period: 'day', by: 'key' } },
    { id: 'status', path: '/status', methods: ['GET'], upstream: 'backend', rateLimit: { id: 'status-per-ip', limit: 2, windowSeconds: 60, by: 'ip', algorithm: 'sliding-log' } },
  ],
});

describe('rate limits and quotas', () => {
  let upstream: TestUpstream;
  let t: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    t = await startTestGateway(baseConfig(upstream.url));
  });

  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  const get = (path: string, key?: string): Promise<Answer> => call(`${t.url}${path}`, key ? { headers: { 'x-api-key': key } } : {});

  const retryAfter = (a: Answer): number => {
    const v = a.headers.get('retry-after');
    assert.ok(v && /^\d+$/.test(v), `Retry-After is a whole number of seconds: ${v}`);
    return Number(v);
  };

  test('successes under a sliding-log limit carry RateLimit and X-RateLimit headers with a decreasing remaining count', async () => {
    for (const remaining of [2, 1, 0]) {
      const a = await get('/search', KEYS.alpha);
      assert.equal(a.status, 200, a.text);
      assert.equal(a.headers.get('ratelimit-policy'), '"search-per-key";q=3;w=60');
      assert.equal(a.headers.get('ratelimit'), `"search-per-key";r=${remaining};t=60`);
      assert.equal(a.headers.get('x-ratelimit-limit'), '3');
      assert.equal(a.headers.get('x-ratelimit-remaining'), String(remaining));
      assert.equal(a.headers.get('x-ratelimit-reset'), '60');
    }
  });

  test('the 4th request within the window of a 3-per-minute sliding log gets 429 rate_limited with Retry-After and RateLimit headers', async () => {
    const seen = upstream.seen.length;
    const a = await get('/search', KEYS.alpha);
    assertProblem(a, 429, 'rate_limited');
    assert.equal(upstream.seen.length, seen, 'the refused request never reached the upstream');
    const wait = retryAfter(a);
    assert.ok(wait >= 59 && wait <= 60, `the first of the 3 frees up in about a minute, Retry-After ${wait}`);
    assert.match(a.headers.get('ratelimit') ?? '', /^"search-per-key";r=0;t=(59|60)$/);
    assert.equal(a.headers.get('x-ratelimit-remaining'), '0');
    assert.match(String(a.json.detail), /Limit of 3 requests per 60 s per key reached/);
    const evidence = checkRecord(await traceOf(t, a), 'rate-limit:search-per-key').evidence ?? {};
    assert.equal(evidence.subject, 'alpha');
    assert.equal(evidence.used, 3);
  });

  test('refused requests are not counted: the key stays refused, not further behind', async () => {
    const a = await get('/search', KEYS.alpha);
    assertProblem(a, 429, 'rate_limited');
    assert.equal(checkRecord(await traceOf(t, a), 'rate-limit:search-per-key').evidence?.used, 3);
  });

  test('another key of the same consumer has its own, untouched limit', async () => {
    const a = await get('/search', KEYS.beta);
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('x-ratelimit-remaining'), '2');
  });

  test('a gcra limit of 5 per minute admits a burst of 5 back to back and refuses the 6th for one emission interval', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await get('/feed', KEYS.delta);
      assert.equal(a.status, 200, `request ${i + 1} of the burst: ${a.text}`);
      remaining.push(a.headers.get('x-ratelimit-remaining') ?? '');
    }
    assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);
    const sixth = await get('/feed', KEYS.delta);
    assertProblem(sixth, 429, 'rate_limited');
    const wait = retryAfter(sixth);
    assert.ok(wait >= 11 && wait <= 12, `one request frees up every 60/5 = 12 s, Retry-After ${wait}`);
    assert.equal(sixth.headers.get('ratelimit-policy'), '"feed-burst";q=5;w=60');
  });

  test('unauthenticated requests limited by ip are counted per client address', async () => {
    assert.equal((await get('/status')).status, 200);
    assert.equal((await get('/status')).status, 200);
    const a = await get('/status');
    assertProblem(a, 429, 'rate_limited');
    assert.equal(checkRecord(await traceOf(t, a), 'rate-limit:status-per-ip').evidence?.subject, '127.0.0.1');
  });

  test('a key past its daily quota of 2 gets 429 quota_exhausted with Retry-After until midnight UTC', async () => {
    assert.equal((await get('/export', KEYS.gamma)).status, 200);
    assert.equal((await get('/export', KEYS.gamma)).status, 200);
    const seen = upstream.seen.length;
    const a = await get('/export', KEYS.gamma);
    assertProblem(a, 429, 'quota_exhausted');
    assert.equal(upstream.seen.length, seen);
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const expected = Math.ceil((midnight - now.getTime()) / 1000);
    assert.ok(Math.abs(retryAfter(a) - expected) <= 2, `Retry-After ${retryAfter(a)} is the time to midnight UTC, ${expected}`);
    assert.match(String(a.json.detail), /daily quota of 2 requests per key is used up; it resets at \d{4}-\d\d-\d\dT00:00:00\.000Z/);
    // Another key has its own quota.
    assert.equal((await get('/export', KEYS.beta)).status, 200);
  });

  test('a hot reload does not reset counters, and a raised limit admits only the difference', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get('/search', KEYS.epsilon)).status, 200);
    assertProblem(await get('/search', KEYS.epsilon), 429, 'rate_limited');
    const versionBefore = t.gateway.current().version;

    // An unrelated change: a new route. Counters live outside the compiled config.
    const unrelated = baseConfig(upstream.url);
    unrelated.routes.push({ id: 'health', path: '/health', methods: ['GET'], upstream: 'backend' } as (typeof unrelated.routes)[number]);
    const first = t.rewrite(unrelated);
    assert.equal(first.ok, true, first.message);
    assert.ok(t.gateway.current().version > versionBefore, 'the reload took a new config version');
    assertProblem(await get('/search', KEYS.epsilon), 429, 'rate_limited');
    assertProblem(await get('/search', KEYS.alpha), 429, 'rate_limited');
    assertProblem(await get('/export', KEYS.gamma), 429, 'quota_exhausted');
    assertProblem(await get('/feed', KEYS.delta), 429, 'rate_limited');

    // Raising the limit from 3 to 5 admits exactly 2 more within the same window.
    const raised = t.rewrite(baseConfig(upstream.url, 5));
    assert.equal(raised.ok, true, raised.message);
    const r1 = await get('/search', KEYS.epsilon);
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.headers.get('x-ratelimit-remaining'), '1');
    assert.equal((await get('/search', KEYS.epsilon)).status, 200);
    assertProblem(await get('/search', KEYS.epsilon), 429, 'rate_limited');
  });
});
