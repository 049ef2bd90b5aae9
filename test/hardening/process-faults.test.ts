import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { binPath, freePortBlock, runCli, startCli } from '../support/cli.ts';

// Faults of the machine, with the real `pinpoint demo` process: killed with SIGKILL in the
// middle of writing its call log and config versions, and run with a file-size limit that
// makes its log's disk "full". Nothing acknowledged may be lost or corrupted by the first;
// the second must not stop requests, and every record it could not write is counted.

interface Load { readonly answered: { id: string; at: number }[]; stop(): Promise<void>; statuses: Map<number, number> }

/** Concurrent clients posting and reading orders until stopped; records every answered request id. */
function runLoad(base: string, concurrency: number): Load {
  const answered: Load['answered'] = [];
  const statuses = new Map<number, number>();
  let running = true;
  const worker = async (w: number) => {
    for (let i = 0; running; i++) {
      try {
        const post = (i + w) % 2 === 0;
        const res = await fetch(`${base}/api/orders${post ? '' : `?n=${i}`}`, {
          method: post ? 'POST' : 'GET',
          headers: { 'x-api-key': i % 5 === 0 ? 'pk_demo_reader' : 'pk_demo_writer', 'content-type': 'application/json' },
          ...(post ? { body: JSON.stringify({ item: 'book', n: i }) } : {}),
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const id = res.headers.get('x-request-id');
        if (id) answered.push({ id, at: Date.now() });
      } catch {
        return; // the server went away
      }
    }
  };
  const all = Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { answered, statuses, stop: async () => { running = false; await all; } };
}

async function waitFor(output: () => string, pattern: RegExp, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!pattern.test(output())) {
    if (Date.now() > until) throw new Error(`not seen within ${ms} ms: ${pattern}\n${output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGKILL while writing the call log and reloading config: after restart the store is intact and every acknowledged write is there', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-kill-'));
  try {
    const port = await freePortBlock();
    const base = `http://127.0.0.1:${port}`;
    const first = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/);
    const load = runLoad(base, 6);
    // Config changes acknowledged while the load runs: the gateway logs "config vN loaded".
    const acknowledged: number[] = [1];
    for (let v = 2; v <= 4; v++) {
      await new Promise((r) => setTimeout(r, 250));
      appendFileSync(join(dataDir, 'pinpoint.yaml'), `# edit ${v}\n`);
      await waitFor(first.output, new RegExp(`config v${v} loaded`));
      acknowledged.push(v);
    }
    // Kill once enough answers are over a second old (the machine may be slow), and while
    // the clients are still writing.
    for (const until = Date.now() + 20_000; Date.now() < until;) {
      if (load.answered.filter((a) => a.at < Date.now() - 1000).length >= 50) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await new Promise<void>((r) => first.child.once('exit', () => r()));
    await load.stop();
    assert.ok(load.answered.length > 50, `the load was real: ${load.answered.length} answers`);

    const db = new DatabaseSync(join(dataDir, 'pinpoint.db'));
    try {
      assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
      const versions = (db.prepare('SELECT version FROM config_versions ORDER BY version').all() as { version: number }[]).map((r) => r.version);
      assert.deepEqual(versions, acknowledged, 'every acknowledged config version survived');
      // The log is written off the hot path in batches (every 50 ms): what was answered a
      // second before the kill has long been committed and must all be there.
      const settled = load.answered.filter((a) => a.at < killedAt - 1000);
      const has = db.prepare('SELECT 1 FROM calls WHERE request_id = ?');
      const missing = settled.filter((a) => has.get(a.id) === undefined);
      assert.ok(settled.length >= 50, `enough settled requests to judge: ${settled.length}`);
      assert.deepEqual(missing.map((m) => m.id), [], `all ${settled.length} requests answered >1 s before the kill are in the log`);
    } finally {
      db.close();
    }

    const second = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/);
    try {
      // The restarted gateway runs the last acknowledged version, not a new one.
      await waitFor(second.output, /"configVersion":4/);
      const res = await fetch(`${base}/api/orders`, { headers: { 'x-api-key': 'pk_demo_writer' } });
      assert.equal(res.status, 200);
      const x = runCli(['explain', load.answered[0]!.id, '--data-dir', dataDir]);
      assert.equal(x.status, 0, `a request from before the crash is still explained: ${JSON.stringify(x)}`);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the call log disk full (file-size limit): requests keep flowing and every lost record is counted', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-full-'));
  try {
    const port = await freePortBlock();
    const base = `http://127.0.0.1:${port}`;
    // RLIMIT_FSIZE via prlimit: writes past 1 MiB fail with EFBIG (Node ignores SIGXFSZ),
    // which SQLite reports as a failed write: the same path as a full disk, without root.
    // 1 MiB, not less: the data file's empty schema is 23 pages of 16 KiB (database.ts), and the
    // WAL that creates it ~700 KB before its first checkpoint; the records still overflow it.
    const child = spawn('prlimit', [`--fsize=${1024 * 1024}`, process.execPath, binPath, 'demo', '--port', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
    await waitFor(() => out, /Try:/, 20_000);

    let sent = 0;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (sent < 600) {
        sent++;
        const res = await fetch(`${base}/api/orders`, { method: 'POST', headers: { 'x-api-key': 'pk_demo_writer', 'content-type': 'application/json', 'user-agent': 'x'.repeat(200) }, body: JSON.stringify({ item: 'x'.repeat(300) }) });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 6 }, () => worker()));
    assert.deepEqual([...statuses], [[201, 600]], 'every request was served although the log could not be written');

    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0, out.slice(-2000));
    assert.match(out, /records lost: (database or disk is full|disk I\/O error)/, 'the real cause is logged');
    const lost = [...out.matchAll(/call log write failed, (\d+) records lost/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(lost > 0, 'the limit was hit (some records could not be written)');
    const stopped = /"event":"gateway_stopped","written":(\d+),"dropped":(\d+),"failed":(\d+)/.exec(out);
    assert.ok(stopped, `the shutdown line reports written, dropped and failed: ${out.slice(-500)}`);
    const [written, dropped, failed] = stopped.slice(1).map(Number) as [number, number, number];
    assert.equal(failed, lost, 'the failed count equals the records reported lost as they were lost');
    assert.equal(written + dropped + failed, 600, 'every request is accounted for: written, dropped or failed');

    const db = new DatabaseSync(join(dataDir, 'pinpoint.db'));
    try {
      assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok', 'a full disk did not corrupt the store');
      assert.equal((db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n, written);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
