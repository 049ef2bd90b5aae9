import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AlertEngine } from '../../src/observability/alerts.ts';
import type { AlertsConfig } from '../../src/observability/alert-schema.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { parseCallLines, toCallLine } from '../../src/store/sqlite/call-log-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { trace } from '../store/store-contract.ts';
import { startHook, type Hook } from './support.ts';

// One machine, one SQLite file: the firing state outlives the process that evaluated it, so a
// restarted gateway neither notifies a still-firing alert again nor forgets its recovery; and
// two processes on the file (--workers) notify once between them.

const T = 1_800_000_000_000;
let hook: Hook;
let dir: string;
const stores: SqliteStore[] = [];
before(async () => { hook = await startHook(); dir = mkdtempSync(join(tmpdir(), 'pinpoint-alert-restart-')); });
after(async () => { for (const s of stores) await s.close(); await hook.close(); rmSync(dir, { recursive: true, force: true }); });

const config = (): AlertsConfig => ({
  webhook: { url: hook.url, timeoutMs: 2000, headers: {}, retries: 0, backoffMs: 10 },
  evaluateIntervalMs: 600_000,
  rules: [{ id: 'refusals', scope: {}, match: { status: [403] }, groupBy: 'route', windowSeconds: 60, count: 5, minRequests: 10 }],
});
const open = (file: string) => { const s = new SqliteStore(file); stores.push(s); return s; };
const engine = (store: SqliteStore, holder: string, clock: { now: number }) => new AlertEngine({ config, logger: silentLogger, store, holder, now: () => clock.now });

describe('alert state in the SQLite store', () => {
  test('a restarted process does not re-notify a still-firing alert, and sends its recovery', async () => {
    const file = join(dir, 'restart.db');
    const clock = { now: T + 10_000 };
    const first = open(file);
    await first.insertBatch(parseCallLines(Array.from({ length: 8 }, (_, i) => toCallLine(trace(`r${i}`, { ts: T + i }))).join('')));
    const a = engine(first, 'process-1', clock);
    assert.deepEqual((await a.evaluate()).map((n) => [n.status, n.group, n.matching]), [['firing', 'orders', 8]]);
    await a.settle();
    await a.close();

    const b = engine(open(file), 'process-2', clock);
    clock.now += 5000;
    assert.deepEqual(await b.evaluate(), [], 'still firing: nothing new to say');
    assert.deepEqual((await b.firing()).map((f) => [f.rule, f.group]), [['refusals', 'orders']]);
    clock.now = T + 61_000;
    const resolved = await b.evaluate();
    assert.deepEqual(resolved.map((n) => [n.status, n.since]), [['resolved', T + 10_000]]);
    await b.settle();
    assert.deepEqual(hook.received.map((n) => n.status), ['firing', 'resolved']);
    assert.deepEqual((await b.recent()).map((n) => n.status), ['firing', 'resolved']);
    await b.close();
  });

  test('two processes on one file (workers) evaluate at once and notify once', async () => {
    hook.received.length = 0;
    const file = join(dir, 'workers.db');
    const clock = { now: T + 10_000 };
    const s1 = open(file), s2 = open(file);
    await s1.insertBatch(parseCallLines(Array.from({ length: 8 }, (_, i) => toCallLine(trace(`w${i}`, { ts: T + i }))).join('')));
    const w1 = engine(s1, 'worker-1', clock), w2 = engine(s2, 'worker-2', clock);
    const sent = (await Promise.all([w1.evaluate(), w2.evaluate()])).flat();
    sent.push(...(await Promise.all([w2.evaluate(), w1.evaluate()])).flat());
    assert.equal(sent.length, 1);
    assert.equal([w1, w2].filter((w) => w.isLeader).length, 1);
    await Promise.all([w1.settle(), w2.settle()]);
    assert.deepEqual(hook.received.map((n) => n.status), ['firing']);
    await w1.close();
    await w2.close();
  });
});
