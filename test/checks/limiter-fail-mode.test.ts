import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { startGateway, type Gateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { assertProblem, checkRecord, traceById } from '../support/assertions.ts';
import { call, keyEntry, startUpstream, type TestUpstream } from '../support/harness.ts';
import { uniquePrefix } from '../support/services.ts';

// A gateway whose shared limiter (Redis) cannot be reached, over real HTTP: each route
// follows its failMode, and every such decision says so in the trace.

const KEY = 'pk_failmode_0a1b2c3d4e5f';
const route = (id: string, failMode?: string, quota = false) => ({
  id, path: `/${id}`, methods: ['GET'], upstream: 'backend', auth: ['apiKey'],
  ...(quota
    ? { quota: { id, limit: 2, period: 'day', by: 'key', ...(failMode ? { failMode } : {}) } }
    : { rateLimit: { id, limit: 2, windowSeconds: 60, algorithm: 'sliding-log', ...(failMode ? { failMode } : {}) } }),
});

describe('limits while the shared limiter is unreachable', () => {
  let upstream: TestUpstream;
  let gateway: Gateway;
  let dir: string;

  before(async () => {
    upstream = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'pinpoint-failmode-'));
    writeFileSync(join(dir, 'gw.yaml'), stringify({
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      consumers: [{ id: 'app', keys: [keyEntry(KEY, 'key_app')] }],
      routes: [route('default'), route('open', 'open'), route('closed', 'closed'), route('local', 'local'), route('quota-closed', 'closed', true)],
    }));
    // Nothing listens on port 9 of loopback: every connection is refused.
    const counters = new RedisCounterStore({ url: 'redis://127.0.0.1:9', prefix: uniquePrefix('failmode') });
    gateway = await startGateway({ configFile: join(dir, 'gw.yaml'), databaseFile: join(dir, 'pinpoint.db'), logger: silentLogger, port: 0, host: '127.0.0.1', counters });
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) => call(`${gateway.url}${path}`, { headers: { 'x-api-key': KEY } });
  const trace = (a: Awaited<ReturnType<typeof get>>) => traceById({ gateway, databaseFile: join(dir, 'pinpoint.db') }, a.headers.get('x-request-id')!);

  test('failMode open (also the default) admits beyond the limit and records that the limiter was unavailable', async () => {
    for (const path of ['/open', '/default']) {
      const answers = [await get(path), await get(path), await get(path)];
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200], path);
      const rec = checkRecord(await trace(answers[2]!), `rate-limit:${path.slice(1)}`);
      assert.equal(rec.outcome, 'continue');
      assert.match(String(rec.evidence?.limiter_unavailable), /Redis/);
      assert.equal(rec.evidence?.fail_mode, 'open');
    }
  });

  test('failMode closed answers 503 limiter_unavailable as problem+json with Retry-After', async () => {
    for (const path of ['/closed', '/quota-closed']) {
      const a = await get(path);
      assertProblem(a, 503, 'limiter_unavailable');
      assert.equal(a.headers.get('retry-after'), '1');
      const t = await trace(a);
      assert.equal(t.code, 'limiter_unavailable');
      assert.equal(checkRecord(t, t.deniedBy!).evidence?.fail_mode, 'closed');
    }
  });

  test('failMode local keeps counting in this process: the limit holds per node', async () => {
    const answers = [await get('/local'), await get('/local'), await get('/local')];
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 429]);
    assert.equal(answers[2]!.json.code, 'rate_limited');
    assert.equal(checkRecord(await trace(answers[2]!), 'rate-limit:local').evidence?.fail_mode, 'local');
  });
});
