import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { startCli, type RunningServer } from '../support/cli.ts';
import { freeDemoPorts, runCliAsync } from '../support/nodes.ts';
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

async function demoNode(extra: string[] = []): Promise<{ url: string; server: RunningServer }> {
  const port = await freeDemoPorts();
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-demo-node-'));
  dirs.push(dir);
  const server = await startCli(['demo', '--port', String(port), '--data-dir', dir, '--store', database.url, '--redis', redisUrl, ...extra], /Try:/, env);
  running.push(server);
  return { url: `http://127.0.0.1:${port}`, server };
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
});
