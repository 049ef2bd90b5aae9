import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { dirname, join } from 'node:path';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { runCli } from '../support/cli.ts';
import { call, startUpstream, type TestUpstream } from '../support/harness.ts';
import { startNode, until } from '../support/nodes.ts';
import { scratchDatabase } from '../support/postgres.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';

const config = (upstreamUrl: string) => ({
  gateway: { host: '127.0.0.1', port: 0 },
  upstreams: { backend: { targets: [{ url: upstreamUrl }] } },
  routes: [{ id: 'limited', path: '/limited', methods: ['GET'], upstream: 'backend', rateLimit: { limit: 5, windowSeconds: 60, by: 'route', algorithm: 'sliding-log' } }],
});

let upstream: TestUpstream;
before(async () => { upstream = await startUpstream(); });
after(() => upstream.close());

test('serve --workers 2 runs two processes on one port; with Redis the limit and the call log hold across them', async () => {
  const database = scratchDatabase('workers');
  const prefix = uniquePrefix('workers');
  const node = await startNode(config(upstream.url), ['--workers', '2', '--store', database.url, '--redis', redisUrl], { PINPOINT_REDIS_PREFIX: prefix, PINPOINT_REDIS_TIMEOUT_MS: '5000' });
  const store = await PostgresStore.open(database.url);
  try {
    await until('both workers to listen', async () => (node.server.output().match(/gateway listening on/g) ?? []).length === 2, 15_000, 50);
    const pids = new Set([...node.server.output().matchAll(/"pid":(\d+)[^\n]*gateway listening/g)].map((m) => m[1]));
    assert.equal(pids.size, 2, 'two distinct worker processes listen');
    assert.ok(!pids.has(String(node.server.child.pid)), 'the primary serves nothing itself');

    const ids: string[] = [];
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 5; i++) {
        // A new connection each time, so the primary hands requests to both workers.
        const a = await call(`${node.url}/limited`, { headers: { connection: 'close' } });
        statuses.push(a.status);
        ids.push(a.headers.get('x-request-id')!);
      }
    }));
    assert.equal(statuses.filter((s) => s === 200).length, 5, `exactly the limit is admitted across workers: ${statuses.join(' ')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 35);
    for (const id of ids) await until(`trace ${id} in the shared call log`, () => store.findTrace(id), 5000, 20);

    assert.equal(await node.server.stop(), 0, 'SIGTERM to the primary drains the workers and exits 0');
    assert.equal((node.server.output().match(/gateway stopped/g) ?? []).length, 2, 'both workers drained');
  } finally {
    await node.stop();
    await store.close();
    const counters = new RedisCounterStore({ url: redisUrl, prefix });
    await counters.ready();
    await counters.clear();
    counters.close();
    await database.drop();
  }
});

test('serve --workers 2 without Redis says clearly that limits are per process, and they are; both write the one SQLite call log', async () => {
  const node = await startNode(config(upstream.url), ['--workers', '2']);
  try {
    assert.match(node.server.output(), /counted per worker process \(no --redis\): with 2 workers a limit of L admits up to 2×L/);
    await until('both workers to listen', async () => (node.server.output().match(/gateway listening on/g) ?? []).length === 2, 15_000, 50);
    const ids: string[] = [];
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 5; i++) {
        const a = await call(`${node.url}/limited`, { headers: { connection: 'close' } });
        statuses.push(a.status);
        ids.push(a.headers.get('x-request-id')!);
      }
    }));
    const admitted = statuses.filter((s) => s === 200).length;
    assert.ok(admitted > 5 && admitted <= 10, `each process counts its own 5: ${admitted} admitted`);
    const log = new SqliteStore(join(dirname(node.configFile), 'pinpoint.db'), { readOnly: true });
    try {
      for (const id of ids) await until(`trace ${id} in the SQLite call log`, () => log.findTrace(id), 5000, 20);
      assert.equal((await log.latestConfigVersion())?.version, 1, 'two workers recording the same file agree on one version');
    } finally {
      await log.close();
    }
  } finally {
    await node.stop();
  }
});

test('with --workers 2 one scrape of /metrics answers for the whole pool: both workers\' series, their request counts adding up', async () => {
  const token = 'adm_workers_metrics';
  const node = await startNode({ ...config(upstream.url), admin: { port: 0, tokens: [{ id: 'ops', role: 'operator', hash: `sha256:${createHash('sha256').update(token).digest('hex')}` }] } },
    ['--workers', '2'], { PINPOINT_NODE_NAME: 'pool-test' });
  try {
    await until('both admin listeners', async () => (node.server.output().match(/admin API listening on/g) ?? []).length === 2, 15_000, 50);
    const admin = /admin API listening on (http:\/\/[^\s)"]+)/.exec(node.server.output())![1]!;
    const sent = 40;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < sent / 8; i++) await call(`${node.url}/limited`, { headers: { connection: 'close' } });
    }));
    const counted = (text: string, worker: string) => [...text.matchAll(new RegExp(`^pinpoint_requests_total\\{[^}]*node="pool-test/w${worker}"[^}]*\\} (\\d+)`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
    const scrape = () => call(`${admin}/metrics`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } });
    // A worker counts a request when its answer is finished, which on a loaded machine can come
    // a moment after the client has read it: wait for the last one, then every scrape must agree.
    let last = '';
    await until('the pool to count every request sent', async () => {
      const m = await scrape();
      last = `${m.status}: w1 ${counted(m.text, '1')} + w2 ${counted(m.text, '2')}\n${m.text.split('\n').filter((l) => l.startsWith('pinpoint_requests_total')).join('\n')}`;
      return counted(m.text, '1') + counted(m.text, '2') === sent;
    }, 15_000, 50).catch((err: Error) => { throw new Error(`${err.message}; last scrape ${last}\n--- node output ---\n${node.server.output().split('\n').filter((l) => !l.includes('"event":"request"')).slice(-60).join('\n')}`); });
    // New connections each time: the scrapes land on either worker, and each must see the pool.
    for (let i = 0; i < 4; i++) {
      const m = await scrape();
      assert.equal(m.status, 200, m.text);
      assert.equal(m.headers.get('x-pinpoint-metrics-scope'), 'pool');
      const [w1, w2] = [counted(m.text, '1'), counted(m.text, '2')];
      assert.ok(w1 > 0 && w2 > 0, `both workers served and are in the scrape: ${w1} + ${w2}`);
      assert.equal(w1 + w2, sent, 'the pool\'s counts add up to the requests sent');
      assert.equal((m.text.match(/^# TYPE pinpoint_requests_total counter$/gm) ?? []).length, 1, 'one metric family, not one per worker');
    }
  } finally {
    await node.stop();
  }
});

test('--workers must be a positive whole number', async () => {
  const r = runCli(['serve', '--config', 'x.yaml', '--workers', 'two']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--workers must be a whole number/);
});

test('a bad --store URL is a usage error', async () => {
  const r = runCli(['explain', 'some-id', '--store', 'mysql://localhost/x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unsupported scheme/);
});

test('an unreachable PostgreSQL is one clear line and exit 1, not a stack trace', async () => {
  const r = runCli(['explain', 'some-id', '--store', 'postgresql://postgres@127.0.0.1:9/none']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot open the store postgresql:\/\/postgres@127\.0\.0\.1:9\/none: .*ECONNREFUSED/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('serve --workers 2 --redis: wrong admin tokens spread over both workers lock the address after the configured total, not twice it', async () => {
  const token = 'adm_workers_guessing';
  const prefix = uniquePrefix('workersauth');
  const admin = { port: 0, authThrottle: { maxFailures: 4, windowSeconds: 60 }, tokens: [{ id: 'ops', role: 'operator', hash: `sha256:${createHash('sha256').update(token).digest('hex')}` }] };
  const node = await startNode({ ...config(upstream.url), admin }, ['--workers', '2', '--redis', redisUrl], { PINPOINT_REDIS_PREFIX: prefix, PINPOINT_REDIS_TIMEOUT_MS: '5000' });
  try {
    await until('both admin listeners', async () => (node.server.output().match(/admin API listening on/g) ?? []).length === 2, 15_000, 50);
    const url = /admin API listening on (http:\/\/[^\s)"]+)/.exec(node.server.output())![1]!;
    // A new connection each time, so the primary hands the guesses to both workers.
    for (let i = 0; i < 4; i++) assert.equal((await call(`${url}/v1/tenants`, { headers: { authorization: `Bearer adm_wrong_${i}`, connection: 'close' } })).status, 401);
    await until('both workers logged a failure', async () => new Set([...node.server.output().matchAll(/"pid":(\d+)[^\n]*"admin_auth_failed"|"admin_auth_failed"[^\n]*"pid":(\d+)/g)].map((m) => m[1] ?? m[2])).size === 2, 5000, 50);
    for (let i = 0; i < 2; i++) {
      const right = await call(`${url}/v1/tenants`, { headers: { authorization: `Bearer ${token}`, connection: 'close' } });
      assert.equal(right.status, 429, right.text);
    }
  } finally {
    await node.stop();
    const counters = new RedisCounterStore({ url: redisUrl, prefix });
    await counters.ready();
    await counters.clear();
    counters.close();
  }
});
