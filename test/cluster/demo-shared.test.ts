import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { startCli, type RunningServer } from '../support/cli.ts';
import { freeDemoPorts, runCliAsync, until } from '../support/nodes.ts';
import { call } from '../support/harness.ts';
import { scratchDatabase } from '../support/postgres.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';

// The demo as the README runs it on several nodes: `npm start -- --store postgresql://...
// --redis redis://...` with different ports share one state.

const database = scratchDatabase('demo');
const prefix = uniquePrefix('demo');
// See multinode.test.ts: a loaded CI host must not turn a slow reply into a fail-mode decision.
const env = { PINPOINT_REDIS_PREFIX: prefix, PINPOINT_REDIS_TIMEOUT_MS: '5000' };
const dirs: string[] = [];
const running: RunningServer[] = [];

after(async () => {
  await Promise.all(running.map((r) => r.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const counters = new RedisCounterStore({ url: redisUrl, prefix });
  await counters.ready();
  await counters.clear();
  counters.close();
  await database.drop();
});

type DemoNode = { url: string; admin: string; server: RunningServer };
let pair: [DemoNode, DemoNode] | null = null;

async function demoNode(extra: string[] = []): Promise<DemoNode> {
  const port = await freeDemoPorts();
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-demo-node-'));
  dirs.push(dir);
  const server = await startCli(['demo', '--port', String(port), '--data-dir', dir, '--store', database.url, '--redis', redisUrl, ...extra], /Try:/, env);
  running.push(server);
  return { url: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${port + 1}`, server };
}

const limited = (url: string) => call(`${url}/api/limited`, { headers: { 'x-api-key': 'pk_demo_writer' } });

test('two demo nodes on different ports share the 3-per-minute limit, the call log and --reset', async () => {
  const a = await demoNode(['--reset']);
  const b = await demoNode();
  assert.match(b.server.output(), /joining config v1 from the shared store/);

  const answers = [await limited(a.url), await limited(b.url), await limited(a.url), await limited(b.url)];
  assert.deepEqual(answers.map((x) => x.status), [200, 200, 200, 429], 'the 4th request within 60 s is refused, whichever node serves it');
  assert.equal(answers[3]!.json.code, 'rate_limited');
  assert.ok(answers[3]!.headers.get('retry-after'));

  // Served by b, explained from the shared store (as from any node's machine).
  const id = answers[3]!.headers.get('x-request-id')!;
  const explained = await runCliAsync(['explain', id, '--store', database.url]);
  assert.equal(explained.status, 0, explained.stderr);
  assert.match(explained.stdout, /429 rate_limited/);

  // --reset on one node (restarted) resets the shared counters: the limit is fresh again.
  await running.shift()!.stop();
  const again = await demoNode(['--reset']);
  assert.equal((await limited(again.url)).status, 200);
  assert.equal((await limited(b.url)).status, 200);
  const old = await runCliAsync(['explain', id, '--store', database.url]);
  assert.equal(old.status, 1, 'the shared call log was reset too');
  pair = [again, b];
});

const key = (url: string, path: string, k: string) => call(`${url}${path}`, { headers: { 'x-api-key': k } });
const adm = (url: string, method: string, path: string, token: string) => call(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

test('two demo nodes serve the DEMO.md admin and tenancy answers from either node, and an approval on one holds on the other', async () => {
  assert.ok(pair, 'the nodes of the previous test');
  const [a, b] = pair;
  // After the --reset of the previous test, both nodes run the re-seeded state (b adopted it).
  for (const n of [a, b]) await until('the seeded state on ' + n.url, async () => (await key(n.url, '/api/orders', 'pk_demo_reader')).status === 200, 5000, 20);
  for (const n of [a, b]) {
    const globex = await key(n.url, '/api/orders', 'pk_globex_reader');
    assert.equal(globex.status, 403);
    assert.match(String(globex.json.code), /^(subscription_required|tenant_mismatch)$/);
    assert.equal((await key(n.url, '/globex/inventory', 'pk_demo_writer')).status, 403);
    assert.equal((await key(n.url, '/api/orders', 'pk_demo_pending')).json.code, 'subscription_pending');
    assert.equal((await adm(n.admin, 'GET', '/v1/tenants/globex', 'adm_demo_acme')).status, 404, 'a tenant admin of acme cannot read globex');
    assert.equal((await adm(n.admin, 'GET', '/v1/tenants/globex', 'adm_demo_operator')).status, 200);
  }
  const staging = await key(b.url, '/api/orders', 'pk_demo_reporting_staging');
  assert.equal(staging.json.code, 'no_access_policy');
  const id = staging.headers.get('x-request-id')!;
  const explained = await until('the trace, explained by the other node', async () => {
    const x = await adm(a.admin, 'GET', `/v1/explain/${id}`, 'adm_demo_operator');
    return x.status === 200 ? x : null;
  }, 5000, 50);
  assert.match((explained.json.findings as string[]).join('\n'), /acme-reporting\b/);
  const cli = await runCliAsync(['explain', id, '--store', database.url]);
  assert.match(cli.stdout, /acme-reporting \("Acme reporting"\)/);

  // Approved through a's admin API, enforced by b.
  assert.equal((await adm(a.admin, 'POST', '/v1/subscriptions/acme-newapp.orders/approve', 'adm_demo_acme')).status, 200);
  await until('b to admit the approved app', async () => (await key(b.url, '/api/orders', 'pk_demo_pending')).status === 200, 2000, 5);
  const status = await Promise.all([a, b].map(async (n) => (await adm(n.admin, 'GET', '/v1/status', 'adm_demo_auditor')).json.stateVersion));
  assert.equal(status[0], status[1], 'both nodes on the same state version');
});
