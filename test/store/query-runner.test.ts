import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { inlineQueries, WorkerQueries } from '../../src/store/sqlite/query-runner.ts';

// A long analytics query must not stop the thread that serves requests: on the worker runner
// the event loop keeps turning while SQLite counts; inline (CLI, tests) it does not.

const slow = { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) AS n FROM c', params: [] };

async function ticksDuring(run: () => Promise<unknown>): Promise<{ ticks: number; result: unknown }> {
  let ticks = 0;
  let on = true;
  const spin = () => { if (!on) return; ticks++; setImmediate(spin); };
  setImmediate(spin);
  const result = await run();
  on = false;
  return { ticks, result };
}

test('a slow query on the worker runner leaves the event loop free; the same query inline blocks it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-queries-'));
  const file = join(dir, 'log.db');
  const db = openDatabase(file);
  const worker = new WorkerQueries(file);
  try {
    await worker.all({ sql: 'SELECT 1 AS x', params: [] }); // the worker's start-up is not what is measured
    const off = await ticksDuring(() => worker.all<{ n: number }>(slow));
    assert.deepEqual(off.result, [{ n: 2_000_000 }]);
    const inline = await ticksDuring(() => inlineQueries(db).all<{ n: number }>(slow));
    assert.deepEqual(inline.result, [{ n: 2_000_000 }]);
    assert.ok(inline.ticks <= 1, `inline, the loop is blocked: ${inline.ticks} ticks`);
    assert.ok(off.ticks > 20 * Math.max(1, inline.ticks), `off the thread, the loop kept turning: ${off.ticks} ticks`);
  } finally {
    await worker.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad query on the worker runner is a rejected promise with SQLite\'s message, and the runner keeps answering', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-queries-'));
  const file = join(dir, 'log.db');
  const db = openDatabase(file);
  const worker = new WorkerQueries(file);
  try {
    await assert.rejects(worker.all({ sql: 'SELECT * FROM no_such_table', params: [] }), /no such table/);
    assert.deepEqual(await worker.all({ sql: 'SELECT ? + 1 AS x', params: [41] }), [{ x: 42 }]);
  } finally {
    await worker.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
