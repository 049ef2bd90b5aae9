import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { watchConfigFile } from '../../src/config/watch.ts';
import type { CounterStore } from '../../src/limits/counter-store.ts';
import { LocalCounterStore } from '../../src/limits/local-counter-store.ts';
import { latestConfigVersion } from '../../src/store/sqlite/config-versions.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { startGateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { call, keyEntry, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream, type UpstreamHandler } from '../support/harness.ts';
import { traceOf } from '../support/assertions.ts';

// Hot reload over real HTTP: a new config changes what the gateway does and is recorded as
// a new version; a broken one is refused and the running one keeps serving; requests in
// flight during a reload finish on the config they started with.

const KEY = 'pk_test_reload_key_1';

async function upstream(t: TestContext, handler?: UpstreamHandler): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  t.after(() => u.close());
  return u;
}

async function gateway(t: TestContext, config: object | string): Promise<TestGateway> {
  const gw = await startTestGateway(config);
  t.after(() => gw.close());
  return gw;
}


function latestRecordedVersion(gw: TestGateway): number | undefined {
  const db = openDatabase(gw.databaseFile, { readOnly: true });
  try { return latestConfigVersion(db)?.version; } finally { db.close(); }
}

const textOf = (name: string): UpstreamHandler => (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(name); };

function baseConfig(upstreamUrl: string, extraRoutes: object[] = []) {
  return {
    consumers: [{ id: 'ops', keys: [keyEntry(KEY, 'ops-key', ['status:read'])] }],
    upstreams: { backend: { targets: [{ url: upstreamUrl }] } },
    routes: [{ id: 'status', path: '/status', methods: ['GET'], upstream: 'backend' }, ...extraRoutes],
  };
}

test('a reload to a new config changes routing and the version recorded in new traces', async (t) => {
  const backend = await upstream(t, textOf('backend'));
  const gw = await gateway(t, baseConfig(backend.url));
  const v1 = gw.gateway.current().version;

  const before = await call(`${gw.url}/health-report`);
  assert.equal(before.status, 404);
  assert.equal((await traceOf(gw, before)).configVersion, v1);

  const result = gw.rewrite(baseConfig(backend.url, [{ id: 'health-report', path: '/health-report', methods: ['GET'], upstream: 'backend' }]));
  assert.equal(result.ok, true, result.message);
  assert.equal(result.version, v1 + 1);
  assert.equal(gw.gateway.current().version, v1 + 1);
  assert.equal(latestRecordedVersion(gw), v1 + 1, 'the new version is recorded in the store');

  const after = await call(`${gw.url}/health-report`);
  assert.equal(after.status, 200);
  assert.equal(after.text, 'backend');
  const trace = await traceOf(gw, after);
  assert.equal(trace.configVersion, v1 + 1);
  assert.equal(trace.routeId, 'health-report');
});

test('a reload that adds authentication to a route makes it refuse anonymous callers at once', async (t) => {
  const backend = await upstream(t, textOf('backend'));
  const gw = await gateway(t, baseConfig(backend.url));
  assert.equal((await call(`${gw.url}/status`)).status, 200);
  const locked = baseConfig(backend.url);
  locked.routes[0] = { ...locked.routes[0]!, auth: ['apiKey'] } as typeof locked.routes[0];
  assert.equal(gw.rewrite(locked).ok, true);
  const anonymous = await call(`${gw.url}/status`);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json.code, 'credential_missing');
  assert.equal((await traceOf(gw, anonymous)).configVersion, gw.gateway.current().version);
  assert.equal((await call(`${gw.url}/status`, { headers: { 'x-api-key': KEY } })).status, 200);
});

test('a reload that points an upstream at another target moves new traffic there', async (t) => {
  const blue = await upstream(t, textOf('blue'));
  const green = await upstream(t, textOf('green'));
  const gw = await gateway(t, baseConfig(blue.url));
  assert.equal((await call(`${gw.url}/status`)).text, 'blue');
  assert.equal(gw.rewrite(baseConfig(green.url)).ok, true);
  const answers = await Promise.all(Array.from({ length: 5 }, () => call(`${gw.url}/status`)));
  assert.deepEqual(answers.map((a) => a.text), Array(5).fill('green'));
});

test('reloading an unchanged file keeps the version', async (t) => {
  const backend = await upstream(t);
  const gw = await gateway(t, baseConfig(backend.url));
  const v = gw.gateway.current().version;
  const result = gw.gateway.reload();
  assert.deepEqual(result, { ok: true, version: v, message: 'config unchanged' });
  assert.equal(latestRecordedVersion(gw), v);
});

test('an invalid config on reload is refused with a located message and the running config keeps serving', async (t) => {
  const backend = await upstream(t, textOf('backend'));
  const gw = await gateway(t, baseConfig(backend.url));
  const v = gw.gateway.current().version;

  const brokenConfigs: { config: object | string; located: RegExp }[] = [
    // A route naming an upstream that is not declared: caught when compiling.
    { config: baseConfig(backend.url, [{ id: 'orphan', path: '/orphan', methods: ['GET'], upstream: 'nowhere' }]), located: /pinpoint\.yaml:\d+:\d+ routes\[1\]\.upstream: upstream "nowhere" is not declared/ },
    // A value out of range: caught by the schema.
    { config: { ...baseConfig(backend.url), upstreams: { backend: { targets: [{ url: backend.url }], retries: 9 } } }, located: /pinpoint\.yaml:\d+:\d+ upstreams\.backend\.retries: / },
    // Not even YAML.
    { config: 'routes:\n  - id: status\n    path: [unclosed\n', located: /pinpoint\.yaml:\d+:\d+ .*YAML syntax/ },
  ];
  for (const { config, located } of brokenConfigs) {
    const result = gw.rewrite(config);
    assert.equal(result.ok, false, `refused: ${JSON.stringify(config).slice(0, 80)}`);
    assert.match(result.message, located);
    assert.equal(result.version, v, 'the result names the version still serving');
    assert.equal(gw.gateway.current().version, v);
    const a = await call(`${gw.url}/status`);
    assert.equal(a.status, 200, 'the last good config still serves');
    assert.equal(a.text, 'backend');
    assert.equal((await traceOf(gw, a)).configVersion, v);
  }
  assert.equal(latestRecordedVersion(gw), v, 'a refused config never takes a version number');

  const fixed = gw.rewrite(baseConfig(backend.url, [{ id: 'fixed', path: '/fixed', methods: ['GET'], upstream: 'backend' }]));
  assert.equal(fixed.ok, true, fixed.message);
  assert.equal(fixed.version, v + 1, 'the next good config takes the next number');
  assert.equal((await call(`${gw.url}/fixed`)).status, 200);
});

test('200 concurrent requests all complete while the config is reloaded several times', async (t) => {
  const timers = new Set<NodeJS.Timeout>();
  const slowish = await upstream(t, (req, res) => {
    // Spread the answers over ~60 ms so that reloads land while requests are in flight.
    const timer = setTimeout(() => {
      timers.delete(timer);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`served ${req.url}`);
    }, 5 + Math.floor(Math.random() * 55));
    timers.add(timer);
  });
  t.after(() => { for (const x of timers) clearTimeout(x); });
  // Each variant changes the upstream's settings, so each reload builds new pools and
  // closes the old ones while they still carry requests.
  const variant = (i: number) => ({
    ...baseConfig(slowish.url, [{ id: `extra-${i}`, path: `/extra-${i}`, methods: ['GET'], upstream: 'backend' }]),
    upstreams: { backend: { targets: [{ url: slowish.url }], connections: 16 + (i % 2) * 16, timeouts: { responseHeadersMs: 10_000 + i } } },
  });
  const gw = await gateway(t, variant(0));
  const v0 = gw.gateway.current().version;

  const requests = Array.from({ length: 200 }, (_, i) => call(`${gw.url}/status?n=${i}`).catch((err: unknown) => ({ status: -1, text: String(err) } as Answer)));
  const reloads: boolean[] = [];
  for (let i = 1; i <= 5; i++) {
    await new Promise((r) => setTimeout(r, 15));
    reloads.push(gw.rewrite(variant(i)).ok);
  }
  const answers = await Promise.all(requests);
  assert.deepEqual(reloads, [true, true, true, true, true]);
  assert.equal(gw.gateway.current().version, v0 + 5);
  const failures = answers.map((a, i) => ({ i, status: a.status, text: a.text })).filter((a) => a.status !== 200 || a.text !== `served /status?n=${a.i}`);
  assert.deepEqual(failures, [], 'every request completes with its own answer');

  const traces = await Promise.all(answers.map((a) => traceOf(gw, a)));
  const versions = new Set(traces.map((tr) => tr.configVersion));
  assert.ok(versions.size >= 2, `requests were served across reloads (versions seen: ${[...versions].join(', ')})`);
  assert.equal((await call(`${gw.url}/extra-5`)).status, 200, 'the last config is the one serving');
});

test('a request still in an asynchronous check when a reload replaces its upstream is proxied, not failed', async (t) => {
  const backend = await upstream(t, textOf('backend'));
  // A counter store that answers later, as a shared (Redis) store does.
  const local = new LocalCounterStore();
  let pendingChecks = 0;
  const slowCounters: CounterStore = {
    rate: (key, rule, now, consume) => {
      pendingChecks++;
      return new Promise((resolve) => setTimeout(() => { pendingChecks--; resolve(local.rate(key, rule, now, consume)); }, 150));
    },
    quota: (key, limit, periodEnd, now, consume) => local.quota(key, limit, periodEnd, now, consume),
    close: () => local.close(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-reload-'));
  const configFile = join(dir, 'pinpoint.yaml');
  const config = (connections: number) => stringify({
    upstreams: { backend: { targets: [{ url: backend.url }], connections } },
    routes: [{ id: 'limited', path: '/limited', methods: ['GET'], upstream: 'backend', rateLimit: { limit: 1000, windowSeconds: 60 } }],
  });
  writeFileSync(configFile, config(8));
  const gw = await startGateway({ configFile, databaseFile: join(dir, 'pinpoint.db'), logger: silentLogger, port: 0, host: '127.0.0.1', counters: slowCounters });
  t.after(async () => { await gw.close(); rmSync(dir, { recursive: true, force: true }); });

  const inFlight = Array.from({ length: 5 }, () => call(`${gw.url}/limited`));
  const deadline = Date.now() + 2000;
  while (pendingChecks < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(pendingChecks, 5, 'the requests are waiting in the rate-limit check');
  const retiring = gw.current().upstreams.get('backend')!;
  writeFileSync(configFile, config(16)); // a changed upstream: new pools, the old ones retire
  const result = gw.reload();
  assert.equal(result.ok, true, result.message);
  const answers = await Promise.all(inFlight);
  assert.deepEqual(answers.map((a) => `${a.status} ${a.text}`), Array(5).fill('200 backend'));
  assert.notEqual(gw.current().upstreams.get('backend'), retiring);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    retiring.retire(), // resolves once the retired pools are closed
    new Promise((_r, reject) => { timer = setTimeout(() => reject(new Error('the retired upstream was never closed')), 2000); }),
  ]).finally(() => clearTimeout(timer));
  assert.equal((await call(`${gw.url}/limited`)).status, 200, 'the new config serves too');
});

test('a reload that shortens gateway.headersTimeoutMs applies to the running listener', async (t) => {
  const backend = await upstream(t);
  const gw = await gateway(t, baseConfig(backend.url));
  const result = gw.rewrite({ ...baseConfig(backend.url), gateway: { headersTimeoutMs: 300, requestTimeoutMs: 1000 } });
  assert.equal(result.ok, true, result.message);
  const started = Date.now();
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(gw.gateway.port, '127.0.0.1', () => socket.write('GET /status HTTP/1.1\r\nHost: gw\r\n'));
    let raw = '';
    const guard = setTimeout(() => { socket.destroy(); reject(new Error('the slow client was not cut off: the old 10 s limit still applies')); }, 5000);
    socket.on('data', (c: Buffer) => { raw += c.toString(); });
    socket.on('error', () => undefined);
    socket.on('close', () => { clearTimeout(guard); resolve(raw); });
  });
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.ok(Date.now() - started < 3000);
});

test('the config file watcher calls back once after a burst of writes, including an editor-style rename', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-watch-'));
  const file = join(dir, 'pinpoint.yaml');
  writeFileSync(file, stringify({ routes: [] }));
  let calls = 0;
  const stop = watchConfigFile(file, () => { calls++; }, 100);
  t.after(() => { stop(); rmSync(dir, { recursive: true, force: true }); });
  await new Promise((r) => setTimeout(r, 50));

  for (let i = 0; i < 5; i++) writeFileSync(file, stringify({ routes: [], n: i }));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(calls, 1, 'a burst of writes settles into one reload');

  writeFileSync(join(dir, 'unrelated.txt'), 'x');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(calls, 1, 'other files in the directory are ignored');

  writeFileSync(join(dir, '.pinpoint.yaml.swp'), stringify({ routes: [], n: 'new' }));
  renameSync(join(dir, '.pinpoint.yaml.swp'), file);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(calls, 2, 'replacing the file by rename is noticed');
});
