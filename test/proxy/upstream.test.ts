import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { call, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream, type UpstreamHandler } from '../support/harness.ts';
import { assertProblem, traceOf } from '../support/assertions.ts';

// Balancing, health and failure handling against real servers on loopback. A "dead"
// target is a privileged loopback port where nothing listens: connecting is refused. (A
// port bound and released would do too, but test servers running in parallel may be
// handed that very port again.)

let nextDeadPort = 1;

async function deadTargetUrl(): Promise<string> {
  while (nextDeadPort < 1024) {
    const port = nextDeadPort++;
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return `http://127.0.0.1:${port}`;
  }
  throw new Error('no closed privileged port found on loopback');
}

async function upstream(t: TestContext, handler?: UpstreamHandler): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  t.after(() => u.close());
  return u;
}

async function gatewayFor(t: TestContext, pool: Record<string, unknown>, route: Record<string, unknown> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({
    gateway: { verbosity: 'debug' },
    upstreams: { pool },
    routes: [{ id: 'items', path: '/items', methods: ['GET', 'POST', 'PUT'], upstream: 'pool', ...route }],
  });
  t.after(() => gw.close());
  return gw;
}



async function getMany(url: string, n: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i++) out.push(await call(url));
  return out;
}

const requestsTo = (u: TestUpstream) => u.seen.filter((s) => s.url !== '/health').length;

async function eventually(what: string, predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('round-robin spreads requests evenly across two targets', async (t) => {
  const a = await upstream(t);
  const b = await upstream(t);
  const gw = await gatewayFor(t, { targets: [{ url: a.url }, { url: b.url }] });
  const answers = await getMany(`${gw.url}/items`, 10);
  assert.deepEqual(answers.map((x) => x.status), Array(10).fill(200));
  assert.equal(requestsTo(a), 5);
  assert.equal(requestsTo(b), 5);
});

test('weighted balancing with weights 3 and 1 sends three requests to the first for each one to the second', async (t) => {
  const heavy = await upstream(t);
  const light = await upstream(t);
  const gw = await gatewayFor(t, { balance: 'weighted', targets: [{ url: heavy.url, weight: 3 }, { url: light.url, weight: 1 }] });
  await getMany(`${gw.url}/items`, 40);
  assert.equal(requestsTo(heavy) + requestsTo(light), 40);
  assert.equal(requestsTo(heavy), 30);
  assert.equal(requestsTo(light), 10);
});

test('a GET to a dead target is retried on the other target and succeeds', async (t) => {
  const dead = await deadTargetUrl();
  const live = await upstream(t);
  // Ejection is pushed out of reach so that every other request really meets the dead target.
  const gw = await gatewayFor(t, { targets: [{ url: dead }, { url: live.url }], retries: 1, passive: { failuresToEject: 1000, ejectMs: 100 } });
  const answers = await getMany(`${gw.url}/items`, 6);
  assert.deepEqual(answers.map((x) => x.status), Array(6).fill(200));
  assert.equal(requestsTo(live), 6);
  const traces = await Promise.all(answers.map((x) => traceOf(gw, x)));
  const retried = traces.filter((tr) => tr.upstream!.attempts.length === 2);
  assert.ok(retried.length >= 2, `some requests met the dead target first (${retried.length} did)`);
  for (const tr of retried) {
    assert.equal(tr.upstream!.attempts[0]!.target, dead);
    assert.equal(tr.upstream!.attempts[0]!.error, 'ECONNREFUSED');
    assert.deepEqual(tr.upstream!.attempts[1], { target: live.url, status: 200 });
  }
});

test('a POST to a dead target is not retried: 502 upstream_unavailable, and the live target never sees it', async (t) => {
  const dead = await deadTargetUrl();
  const live = await upstream(t);
  const gw = await gatewayFor(t, { targets: [{ url: dead }, { url: live.url }], retries: 2, passive: { failuresToEject: 1000, ejectMs: 100 } });
  const post = () => call(`${gw.url}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":1}' });
  // Round-robin starts at the first target, the dead one.
  const first = await post();
  assertProblem(first, 502, 'upstream_unavailable');
  assert.equal(requestsTo(live), 0, 'the POST was not replayed on the live target');
  const trace = await traceOf(gw, first);
  assert.equal(trace.upstream!.attempts.length, 1);
  assert.equal(trace.code, 'upstream_unavailable');
  assert.equal(trace.answeredBy, 'gateway');
  const more = [await post(), await post(), await post()];
  assert.deepEqual(more.map((x) => x.status), [201, 502, 201]);
  assert.equal(requestsTo(live), 2);
});

test('a PUT with a body is not retried, while a PUT without one is', async (t) => {
  const dead = await deadTargetUrl();
  const live = await upstream(t);
  const gw = await gatewayFor(t, { targets: [{ url: dead }, { url: live.url }], retries: 1, passive: { failuresToEject: 1000, ejectMs: 100 } });
  const withBody = await call(`${gw.url}/items`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"v":1}' });
  assertProblem(withBody, 502, 'upstream_unavailable');
  await call(`${gw.url}/items`); // moves round-robin back to the dead target
  const withoutBody = await call(`${gw.url}/items`, { method: 'PUT' });
  assert.equal(withoutBody.status, 200);
  const trace = await traceOf(gw, withoutBody);
  assert.equal(trace.upstream!.attempts.length, 2, 'the body-less PUT met the dead target and was retried');
});

test('a target that fails failuresToEject times in a row is ejected and gets no traffic until ejectMs passes', async (t) => {
  const dead = await deadTargetUrl();
  const live = await upstream(t);
  const gw = await gatewayFor(t, { targets: [{ url: dead }, { url: live.url }], retries: 0, passive: { failuresToEject: 2, ejectMs: 600 } });
  // Alternating: dead, live, dead (second failure: ejected), then live only.
  const answers = await getMany(`${gw.url}/items`, 9);
  assert.deepEqual(answers.map((x) => x.status), [502, 200, 502, 200, 200, 200, 200, 200, 200]);
  const health = gw.gateway.current().upstreams.get('pool')!.health(Date.now());
  assert.deepEqual(health.map((h) => h.ejected), [true, false]);
  await new Promise((r) => setTimeout(r, 700));
  const afterEjection = await getMany(`${gw.url}/items`, 2);
  assert.ok(afterEjection.some((x) => x.status === 502), 'once the ejection ends the dead target is tried again');
});

test('an active health check marks a failing target down, traffic avoids it, and it returns once healthy', async (t) => {
  let sickHealthy = false;
  const sick = await upstream(t, (req, res) => {
    if (req.url === '/health') { res.writeHead(sickHealthy ? 200 : 503); res.end(); return; }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('sick');
  });
  const fine = await upstream(t, (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('fine'); });
  const gw = await gatewayFor(t, {
    targets: [{ url: sick.url }, { url: fine.url }],
    healthCheck: { path: '/health', intervalMs: 100, timeoutMs: 500, unhealthyAfter: 1, healthyAfter: 1 },
  });
  const pool = gw.gateway.current().upstreams.get('pool')!;
  await eventually('the sick target to be marked unhealthy', () => pool.health(Date.now())[0]!.healthy === false);
  assert.ok(sick.seen.some((s) => s.url === '/health' && s.headers['user-agent'] === 'pinpoint-health'), 'the probe reached the target');
  const before = requestsTo(sick);
  const answers = await getMany(`${gw.url}/items`, 8);
  assert.deepEqual(answers.map((x) => x.text), Array(8).fill('fine'));
  assert.equal(requestsTo(sick), before);

  sickHealthy = true;
  await eventually('the sick target to be marked healthy again', () => pool.health(Date.now())[0]!.healthy === true);
  const later = await getMany(`${gw.url}/items`, 4);
  assert.equal(later.filter((x) => x.text === 'sick').length, 2, 'traffic is spread over both targets again');
});

test('when every target is down the answer is a 502 upstream_unavailable problem+json naming each attempt', async (t) => {
  const deadA = await deadTargetUrl();
  const deadB = await deadTargetUrl();
  // retries: 1 stops after the second failure; retries: 3 stops when no untried target is left.
  for (const retries of [1, 3]) {
    const gw = await gatewayFor(t, { targets: [{ url: deadA }, { url: deadB }], retries });
    const a = await call(`${gw.url}/items`);
    assertProblem(a, 502, 'upstream_unavailable');
    const evidence = a.json.evidence as { attempts: number; upstream: string; panic: boolean };
    assert.equal(evidence.upstream, 'pool');
    assert.equal(evidence.attempts, 2, `retries: ${retries}`);
    assert.equal(evidence.panic, false);
    const trace = await traceOf(gw, a);
    assert.deepEqual(trace.upstream!.attempts.map((x) => x.target).sort(), [deadA, deadB].sort());
    assert.ok(trace.upstream!.attempts.every((x) => x.error === 'ECONNREFUSED'));
    assert.equal(trace.deniedBy, 'upstream');
  }
});

test('when health checks have marked every target down the gateway still tries them (panic), and a failure is 503 no_healthy_upstream', async (t) => {
  const down = await upstream(t, (req, res) => { res.writeHead(req.url === '/health' ? 503 : 200); res.end(req.url === '/health' ? '' : 'served anyway'); });
  const dead = await deadTargetUrl();
  const gw = await gatewayFor(t, {
    targets: [{ url: down.url }, { url: dead }], retries: 0,
    healthCheck: { path: '/health', intervalMs: 100, timeoutMs: 200, unhealthyAfter: 1 },
  });
  const pool = gw.gateway.current().upstreams.get('pool')!;
  await eventually('both targets to be marked unhealthy', () => pool.health(Date.now()).every((h) => !h.healthy));
  const first = await call(`${gw.url}/items`);
  const second = await call(`${gw.url}/items`);
  const served = [first, second].find((x) => x.status === 200);
  const failed = [first, second].find((x) => x.status !== 200);
  assert.ok(served && failed, `one target serves, one refuses: got ${first.status} and ${second.status}`);
  assert.equal(served.text, 'served anyway');
  assertProblem(failed, 503, 'no_healthy_upstream');
  assert.equal((await traceOf(gw, served)).upstream!.panic, true);
  assert.equal((await traceOf(gw, failed)).upstream!.panic, true);
  assert.equal((failed.json.evidence as { panic: boolean }).panic, true);
});

test('an upstream slower than timeouts.responseHeadersMs gets 504 upstream_timeout without waiting for it', async (t) => {
  const timers = new Set<NodeJS.Timeout>();
  t.after(() => { for (const x of timers) clearTimeout(x); });
  const slow = await upstream(t, (_req, res) => {
    const timer = setTimeout(() => { res.writeHead(200); res.end('too late'); }, 3000);
    timers.add(timer);
  });
  const gw = await gatewayFor(t, { targets: [{ url: slow.url }], timeouts: { responseHeadersMs: 300 } });
  const started = Date.now();
  const a = await call(`${gw.url}/items`);
  const took = Date.now() - started;
  assertProblem(a, 504, 'upstream_timeout');
  assert.ok(took >= 250 && took < 2000, `answered after the timeout, not after the upstream (${took} ms)`);
  assert.equal((a.json.evidence as { timeout_ms: number }).timeout_ms, 300);
  const trace = await traceOf(gw, a);
  assert.equal(trace.code, 'upstream_timeout');
  assert.equal(trace.upstream!.attempts[0]!.error, 'UND_ERR_HEADERS_TIMEOUT');
});

test('a timeout does not count toward passive ejection of a slow but alive target', async (t) => {
  const timers = new Set<NodeJS.Timeout>();
  t.after(() => { for (const x of timers) clearTimeout(x); });
  let slowMode = true;
  const slow = await upstream(t, (_req, res) => {
    if (!slowMode) { res.writeHead(200); res.end('quick'); return; }
    timers.add(setTimeout(() => { res.writeHead(200); res.end('late'); }, 2000));
  });
  const gw = await gatewayFor(t, { targets: [{ url: slow.url }], timeouts: { responseHeadersMs: 150 }, passive: { failuresToEject: 1, ejectMs: 60000 } });
  const timedOut = await call(`${gw.url}/items`);
  assert.equal(timedOut.status, 504);
  assert.deepEqual(gw.gateway.current().upstreams.get('pool')!.health(Date.now()).map((h) => h.ejected), [false]);
  slowMode = false;
  const a = await call(`${gw.url}/items`);
  assert.equal(a.status, 200);
  assert.equal(a.text, 'quick');
});

test('a GET answered with a status listed in retryOnStatus is retried on the other target; a POST gets that answer as is', async (t) => {
  const failing = await upstream(t, (_req, res) => { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('overloaded'); });
  const healthy = await upstream(t);
  const gw = await gatewayFor(t, { targets: [{ url: failing.url }, { url: healthy.url }], retries: 1, retryOnStatus: [503], passive: { failuresToEject: 1000, ejectMs: 100 } });
  const get = await call(`${gw.url}/items`);
  assert.equal(get.status, 200);
  assert.deepEqual((await traceOf(gw, get)).upstream!.attempts, [{ target: failing.url, status: 503 }, { target: healthy.url, status: 200 }]);
  await call(`${gw.url}/items`); // round-robin back to the failing target
  const post = await call(`${gw.url}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(post.status, 503);
  assert.equal(post.text, 'overloaded', 'the upstream\'s own answer is relayed');
  assert.equal(failing.seen.filter((s) => s.method === 'POST').length, 1);
  assert.equal(healthy.seen.filter((s) => s.method === 'POST').length, 0);
});
