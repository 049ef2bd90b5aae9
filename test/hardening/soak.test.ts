import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { reportMarkdown, soak } from '../../scripts/soak.ts';
import { startDemoGateway } from './support.ts';

// The bounded soak of the test command: the real demo process, its V8 heap capped, under
// 64 concurrent connections of mixed traffic for 60 s (scripts/soak.ts runs the same code
// for 10 minutes; docs/hardening.md has its last results). The bounds are loose on purpose:
// the machine is shared, so only a trend (a leak, a drift) may fail this, not a slow second.

test('60 s at 64 connections: every answer as expected, memory bounded, descriptors back, p99 not drifting', async (t) => {
  const r = await soak({ seconds: 60, connections: 64, warmupSeconds: 10, heapMb: 64 });
  t.diagnostic(`\n${reportMarkdown(r)}`);
  assert.ok(r.requests > 1000, `load was generated: ${r.requests} requests`);
  assert.equal(r.errors, 0, 'no connection error (a JS heap leak would have run out of its 64 MB)');
  assert.equal(r.unexpected, 0, 'every answer was the one the demo promises for that request');
  assert.equal(Object.keys(r.statuses).filter((s) => Number(s) >= 500).length, 0, 'no 5xx');
  assert.ok(r.fdsAfter <= r.fdsBefore + 2, `descriptors come back after the load: ${r.fdsBefore} before, ${r.fdsAfter} after (pool apart)`);
  assert.ok(r.upstreamPoolAfter <= 2 * 64 + 4, `the upstream pool stays within its size: ${r.upstreamPoolAfter} sockets`);
  // RSS settles around 300 MB (malloc arenas of the main and log threads; see docs/hardening.md).
  assert.ok(r.rssMaxMb < r.rssAfterWarmupMb + 150, `memory bounded after warm-up: ${r.rssAfterWarmupMb} -> max ${r.rssMaxMb} MB`);
  assert.ok(r.p99LateMs <= 3 * r.p99EarlyMs + 150, `p99 kept: ${r.p99EarlyMs} ms early, ${r.p99LateMs} ms late`);
});

test('the JavaScript heap after a full GC does not grow across rounds of mixed requests', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const d = await startDemoGateway();
  const pool = new Pool(`http://127.0.0.1:${d.port}`, { connections: 8 });
  const shots = [
    { method: 'POST', path: '/api/orders', headers: { 'x-api-key': 'pk_demo_writer', 'content-type': 'application/json' }, body: '{"a":1}' },
    { method: 'GET', path: '/api/orders', headers: { 'x-api-key': 'pk_demo_reader' } },
    { method: 'GET', path: '/api/orders', headers: { 'x-api-key': 'pk_nonexistent' } },
    { method: 'GET', path: '/api/internal/report', headers: { 'x-api-key': 'pk_demo_writer' } },
    { method: 'GET', path: '/nope', headers: {} },
  ] as const;
  const round = async (n: number) => {
    let i = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (i < n) { const s = shots[i++ % shots.length]!; const res = await pool.request({ ...s }); await res.body.dump(); }
    }));
    await d.t.gateway.writer.flush();
    d.upstream.seen.length = 0; // the test's own record of requests, not the gateway's
    gc(); gc();
    return process.memoryUsage().heapUsed / 1e6;
  };
  try {
    await round(500);
    const first = await round(1200);
    await round(1200);
    const last = await round(1200);
    assert.ok(last < first + 3, `heap after GC: ${first.toFixed(1)} MB after round 1, ${last.toFixed(1)} MB after round 3 (2400 requests later)`);
  } finally {
    await pool.close();
    await d.close();
  }
});
