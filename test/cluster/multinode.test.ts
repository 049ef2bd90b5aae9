import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { call, keyEntry, startUpstream, type TestUpstream } from '../support/harness.ts';
import { load, runCliAsync, startNode, until, type GatewayNode } from '../support/nodes.ts';
import { scratchDatabase } from '../support/postgres.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';
import { startTcpProxy, type CuttableProxy } from '../support/tcp-proxy.ts';

// Three real gateway processes sharing one PostgreSQL database and one Redis, as three
// machines behind a load balancer would. The third reaches Redis through a relay the test
// can cut, to show its fail modes and its recovery.

const GLOBAL_LIMIT = 400;

const clusterConfig = (upstreamUrl: string, revoked = false) => ({
  gateway: { host: '127.0.0.1', port: 0 },
  upstreams: { backend: { targets: [{ url: upstreamUrl }] } },
  consumers: [
    { id: 'alpha', keys: [keyEntry('pk_cluster_alpha', 'key_alpha', [], revoked ? { revokedAt: '2020-01-01T00:00:00Z', revokedReason: 'rotated' } : {})] },
  ],
  routes: [
    { id: 'global', path: '/global', methods: ['GET'], upstream: 'backend', rateLimit: { limit: GLOBAL_LIMIT, windowSeconds: 60, by: 'route', algorithm: 'sliding-log', failMode: 'closed' } },
    { id: 'smooth', path: '/smooth', methods: ['GET'], upstream: 'backend', rateLimit: { limit: GLOBAL_LIMIT, windowSeconds: 60, by: 'route', algorithm: 'gcra' } },
    { id: 'closed', path: '/closed', methods: ['GET'], upstream: 'backend', rateLimit: { limit: 3, windowSeconds: 60, by: 'route', algorithm: 'sliding-log', failMode: 'closed' } },
    { id: 'open', path: '/open', methods: ['GET'], upstream: 'backend', rateLimit: { limit: 1000, windowSeconds: 60, by: 'route', failMode: 'open' } },
    { id: 'keyed', path: '/keyed', methods: ['GET'], upstream: 'backend', auth: ['apiKey'] },
  ],
});

describe('three gateway nodes on one PostgreSQL and one Redis', () => {
  const database = scratchDatabase('cluster');
  const prefix = uniquePrefix('cluster');
  let upstream: TestUpstream;
  let proxy: CuttableProxy;
  let nodes: GatewayNode[] = [];
  let store: PostgresStore;

  before(async () => {
    upstream = await startUpstream();
    proxy = await startTcpProxy('127.0.0.1', Number(new URL(redisUrl).port || 6379));
    // A generous Redis command timeout: on a CI host with a load average of 20 a node's event
    // loop can lag past the default 1 s, and the load test must measure the limit, not the host.
    // (Losing Redis is detected by the closed connection, at once, whatever the timeout.)
    const env = { PINPOINT_REDIS_PREFIX: prefix, PINPOINT_REDIS_TIMEOUT_MS: '5000' };
    const common = ['--store', database.url];
    // The first node creates the database; the others join it.
    const first = await startNode(clusterConfig(upstream.url), [...common, '--redis', redisUrl], env);
    nodes = [first, ...await Promise.all([
      startNode(clusterConfig(upstream.url), [...common, '--redis', redisUrl], env),
      startNode(clusterConfig(upstream.url), [...common, '--redis', proxy.url], env),
    ])];
    store = await PostgresStore.open(database.url);
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await store?.close();
    await proxy?.close();
    await upstream?.close();
    const counters = new RedisCounterStore({ url: redisUrl, prefix });
    await counters.ready();
    await counters.clear();
    counters.close();
    await database.drop();
  });

  test('every node runs the same config version', async () => {
    const latest = await store.latestConfigVersion();
    assert.equal(latest?.version, 1, 'the same file on three nodes is one version');
    for (const n of nodes) assert.match(n.server.output(), /config v1\b/);
  });

  test(`a global limit of ${GLOBAL_LIMIT} per window holds within 1% across three nodes under concurrent load`, async () => {
    const statuses = await load(nodes.map((n) => n.url), '/global', GLOBAL_LIMIT * 2, 30);
    const admitted = statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 429).length;
    assert.equal(admitted + refused, GLOBAL_LIMIT * 2, `only 200 and 429 expected, got ${[...new Set(statuses)].join(', ')}`);
    assert.ok(Math.abs(admitted - GLOBAL_LIMIT) <= GLOBAL_LIMIT * 0.01, `admitted ${admitted} of a global limit of ${GLOBAL_LIMIT}`);
    // The sliding log in Redis is exact, not only within 1%.
    assert.equal(admitted, GLOBAL_LIMIT);
  });

  test('a global GCRA limit admits its burst plus the steady rate over the run, across three nodes', async () => {
    const started = Date.now();
    const statuses = await load(nodes.map((n) => n.url), '/smooth', GLOBAL_LIMIT * 2, 30);
    const elapsed = Date.now() - started;
    const admitted = statuses.filter((s) => s === 200).length;
    // A burst of L, then one per window/L ms: the shared debt is one number in Redis.
    const ceiling = GLOBAL_LIMIT + Math.ceil(elapsed * GLOBAL_LIMIT / 60_000) + 1;
    assert.ok(admitted >= GLOBAL_LIMIT && admitted <= ceiling, `admitted ${admitted}, expected ${GLOBAL_LIMIT}..${ceiling} over ${elapsed} ms`);
  });

  test('a request served by one node is explained from the shared store by the CLI', async () => {
    const a = await call(`${nodes[1]!.url}/keyed`, { headers: { 'x-api-key': 'pk_nonexistent' } });
    assert.equal(a.status, 401);
    const id = a.headers.get('x-request-id')!;
    const r = await runCliAsync(['explain', id, '--store', database.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /401 credential_unknown/);
    assert.match(r.stdout, new RegExp(id));
  });

  test('when the third node loses Redis, a fail-closed route answers 503 limiter_unavailable and a fail-open one admits, both traced; it recovers when Redis is back', async () => {
    const c = nodes[2]!;
    assert.equal((await call(`${c.url}/open`)).status, 200);
    proxy.cut();
    const closed = await until('the fail-closed route to refuse', async () => {
      const a = await call(`${c.url}/closed`);
      return a.status === 503 ? a : null;
    });
    assert.equal(closed.json.code, 'limiter_unavailable');
    assert.equal(closed.headers.get('retry-after'), '1');
    const open = await call(`${c.url}/open`);
    assert.equal(open.status, 200, 'fail-open admits');
    for (const [answer, mode] of [[closed, 'closed'], [open, 'open']] as const) {
      const trace = await until('the trace in the shared store', () => store.findTrace(answer.headers.get('x-request-id')!));
      const rec = trace.checks.find((x) => x.id.startsWith('rate-limit:'))!;
      assert.match(String(rec.evidence?.limiter_unavailable), /Redis/, `the ${mode} trace says the limiter was unavailable`);
      assert.equal(rec.evidence?.fail_mode, mode);
    }
    const explained = await runCliAsync(['explain', open.headers.get('x-request-id')!, '--store', database.url]);
    assert.match(explained.stdout, /could not reach the shared limiter \(Redis .*\); its failMode is "open", so the request was admitted without being counted/);
    // The other nodes never noticed.
    assert.equal((await call(`${nodes[0]!.url}/closed`)).status, 200);

    proxy.restore();
    await until('the third node to reach Redis again', async () => (await call(`${c.url}/closed`)).status !== 503, 5000, 50);
    // Back on the shared counter: /closed allows 3 per minute across all nodes, and nodes 1 and 3
    // (after its recovery) have used them, so node 2 is refused.
    const third = await call(`${nodes[1]!.url}/closed`);
    assert.equal(third.status, 200);
    const fourth = await call(`${c.url}/closed`);
    assert.equal(fourth.status, 429, 'the recovered node counts on the shared counter again');
    assert.match(c.server.output(), /shared limiter \(Redis\) unavailable/);
    assert.match(c.server.output(), /shared limiter \(Redis\) available/);
  });

  test('a broken edit on one node is refused there and never reaches the store or the others', async () => {
    const before = (await store.latestConfigVersion())!.version;
    const broken = clusterConfig(upstream.url);
    (broken.routes[0]!.rateLimit as Record<string, unknown>).limit = 'many';
    nodes[0]!.writeConfig(broken);
    await until('the rejection', async () => /config change rejected, keeping v/.test(nodes[0]!.server.output()), 5000, 20);
    assert.equal((await store.latestConfigVersion())!.version, before);
    nodes[0]!.writeConfig(clusterConfig(upstream.url));
    for (const n of nodes) assert.equal((await call(`${n.url}/open`)).status, 200);
  });

  test('a key revoked on one node is refused by every node within the documented bound', async () => {
    for (const n of nodes) assert.equal((await call(`${n.url}/keyed`, { headers: { 'x-api-key': 'pk_cluster_alpha' } })).status, 200);
    const writtenAt = Date.now();
    nodes[0]!.writeConfig(clusterConfig(upstream.url, true));
    const recorded = await until('the revocation to be recorded', async () => {
      const v = await store.latestConfigVersion();
      return v && v.version > 1 ? v : null;
    }, 5000);
    const refusedAt = await Promise.all(nodes.map((n) => until(`node ${n.url} to refuse the revoked key`, async () => {
      const a = await call(`${n.url}/keyed`, { headers: { 'x-api-key': 'pk_cluster_alpha' } });
      return a.status === 401 && a.json.code === 'credential_revoked' ? Date.now() : null;
    }, 5000, 2)));
    const lags = refusedAt.map((t) => t - recorded.loadedAt);
    // The line for this version: a node's output also holds the adoption of earlier versions (at start).
    const adoptedLine = new RegExp(`config v${recorded.version} adopted .*?\\((?:notify|resync|reconnect), (\\d+) ms after`);
    for (const n of nodes.slice(1)) await until('the adoption log line', async () => adoptedLine.test(n.server.output()), 2000);
    const adopted = nodes.slice(1).map((n) => Number(adoptedLine.exec(n.server.output())?.[1]));
    process.stdout.write(`# propagation: file written -> recorded ${recorded.loadedAt - writtenAt} ms; recorded -> refused on each node ${lags.join(', ')} ms (HTTP-observed, 2 ms polling); adopted ${adopted.join(', ')} ms after recording (node logs)\n`);
    // The documented bound is 1 s (measured: tens of ms); the assertion leaves room for a
    // CPU-starved 2-core CI host.
    for (const lag of adopted) assert.ok(Number.isFinite(lag) && lag < 2000, `a node adopted it ${lag} ms after recording (all: ${adopted.join(', ')})`);
    // Seen from outside, that plus one request's latency, which a loaded CI host can stretch.
    for (const lag of lags) assert.ok(lag < 3000, `refused ${lag} ms after the version was recorded (all: ${lags.join(', ')})`);
  });

  test('a node killed right after acknowledging a change loses nothing: the others and a newcomer run it', async () => {
    const before = (await store.latestConfigVersion())!.version;
    const victim = nodes[0]!;
    const next = clusterConfig(upstream.url, true);
    next.routes.push({ id: 'late', path: '/late', methods: ['GET'], upstream: 'backend' } as (typeof next.routes)[number]);
    victim.writeConfig(next);
    await until('the victim to acknowledge the change', async () => new RegExp(`config v${before + 1} loaded`).test(victim.server.output()), 5000, 5);
    await victim.kill();
    nodes = nodes.slice(1);
    for (const n of nodes) await until(`node ${n.url} to serve /late`, async () => (await call(`${n.url}/late`)).status === 200, 3000);
    const newcomer = await startNode(clusterConfig(upstream.url), ['--store', database.url, '--redis', redisUrl, '--join'], { PINPOINT_REDIS_PREFIX: prefix, PINPOINT_REDIS_TIMEOUT_MS: '5000' });
    nodes.push(newcomer);
    assert.equal((await call(`${newcomer.url}/late`)).status, 200, 'a node joining later runs the acknowledged version, not its own file');
  });
});
