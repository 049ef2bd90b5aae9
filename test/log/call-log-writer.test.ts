import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test, type TestContext } from 'node:test';
import { CallLogWriter } from '../../src/log/call-log-writer.ts';
import type { TraceRecord } from '../../src/log/trace.ts';

const nasty = 'ctl \u0001\u0002\u0000 quote " backslash \\ newline \n emoji 🙂 é and \u2028';

const trace = (i: number, extra: Partial<TraceRecord> = {}): TraceRecord => ({
  requestId: `req-${String(i).padStart(6, '0')}`, ts: 1_700_000_000_000 + i, configVersion: 2, routeId: i % 2 ? 'orders' : null, method: 'GET',
  path: i % 10 === 0 ? `/p/${nasty}` : `/p/${i}`, query: i % 3 === 0 ? `q=${nasty}` : '', host: null,
  clientIp: '127.0.0.1', peerIp: '127.0.0.1', clientIpVia: 'peer', status: i % 7 ? 200 : 403, code: i % 7 ? null : 'insufficient_scope',
  answeredBy: i % 7 ? 'upstream' : 'gateway', deniedBy: i % 7 ? null : 'scopes',
  identity: i % 4 ? { kind: 'api_key', credentialId: `k${i}`, consumerId: 'c1', tenantId: null, subject: 'c1', scopes: ['a'], roles: [] } : null,
  checks: [{ id: 'api-key', phase: 'authn', outcome: 'continue', evidence: { note: nasty }, micros: 3 }],
  request: { headers: { 'user-agent': `agent ${nasty}` }, contentLength: null, contentType: null, userAgent: null }, upstream: null, durationMs: 0.25, ...extra,
});

function setUp(t: TestContext, options: { maxPending?: number; flushIntervalMs?: number } = {}): { writer: CallLogWriter; file: string; errors: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-writer-'));
  const file = join(dir, 'pinpoint.db');
  const errors: string[] = [];
  const writer = new CallLogWriter(file, { maxPending: options.maxPending ?? 100_000, flushIntervalMs: options.flushIntervalMs ?? 20, retentionHours: 0, onError: (m) => errors.push(m) });
  t.after(async () => { await writer.close(); rmSync(dir, { recursive: true, force: true }); });
  return { writer, file, errors };
}

function readCalls(file: string): { columns: unknown[]; trace: TraceRecord }[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const rows = db.prepare('SELECT request_id, ts, config_version, route_id, method, path, status, code, answered_by, consumer_id, credential_id, client_ip, duration_ms, trace FROM calls ORDER BY rowid').all() as Record<string, unknown>[];
    return rows.map(({ trace, ...columns }) => ({ columns: Object.values(columns), trace: JSON.parse(trace as string) as TraceRecord }));
  } finally {
    db.close();
  }
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !condition();) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('every record written through the writer arrives in the store intact, in order, with its indexed columns', async (t) => {
  const { writer, file, errors } = setUp(t);
  const records = Array.from({ length: 1500 }, (_, i) => trace(i));
  for (const r of records) writer.write(r);
  await writer.flush();
  assert.deepEqual(errors, []);
  assert.equal(writer.stats.written, 1500);
  const stored = readCalls(file);
  assert.equal(stored.length, 1500);
  assert.deepEqual(stored.map((s) => s.trace), records, 'each trace is the record itself, whatever its strings contain');
  const r = records[10]!;
  assert.deepEqual(stored[10]!.columns, [r.requestId, r.ts, r.configVersion, r.routeId, r.method, r.path, r.status, r.code, r.answeredBy, r.identity?.consumerId ?? null, r.identity?.credentialId ?? null, r.clientIp, r.durationMs]);
});

test('a full batch of 512 records is sent at once; fewer wait for the flush interval', async (t) => {
  const { writer } = setUp(t, { flushIntervalMs: 60_000 });
  for (let i = 0; i < 512; i++) writer.write(trace(i));
  await until(() => writer.stats.written === 512);
  for (let i = 512; i < 700; i++) writer.write(trace(i));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(writer.stats.written, 512, 'the partial batch waits (the interval is a minute)');
  assert.equal(writer.pending, 188);
  await writer.flush();
  assert.equal(writer.stats.written, 700);
});

test('a partial batch is written after the flush interval without anyone flushing', async (t) => {
  const { writer } = setUp(t, { flushIntervalMs: 20 });
  for (let i = 0; i < 7; i++) writer.write(trace(i));
  await until(() => writer.stats.written === 7);
});

test('a record larger than the batch buffer is stored intact between small ones', async (t) => {
  const { writer, file } = setUp(t);
  const big = trace(1, { request: { headers: { 'x-big': '🙂'.repeat(400_000) }, contentLength: null, contentType: null, userAgent: null } });
  const records = [trace(0), big, trace(2)];
  for (const r of records) writer.write(r);
  await writer.flush();
  assert.deepEqual(readCalls(file).map((s) => s.trace), records);
  for (let i = 3; i < 600; i++) writer.write(trace(i));
  await writer.flush();
  assert.equal(readCalls(file).length, 600, 'batches after the large one are written as before');
});

test('close() stores every record written before it; a record written after is counted as dropped', async (t) => {
  const { writer, file, errors } = setUp(t, { flushIntervalMs: 60_000 });
  for (let i = 0; i < 2000; i++) writer.write(trace(i));
  await writer.close();
  writer.write(trace(5000));
  assert.deepEqual(errors, []);
  assert.deepEqual(writer.stats, { written: 2000, dropped: 1, failed: 0, pending: 0 });
  const stored = readCalls(file);
  assert.equal(stored.length, 2000, 'nothing written before close() is lost');
  assert.equal(stored.at(-1)!.trace.requestId, 'req-001999');
});

test('records beyond maxPending are dropped and counted, and the count reaches the store at close', async (t) => {
  const { writer, file } = setUp(t, { maxPending: 100, flushIntervalMs: 60_000 });
  for (let i = 0; i < 130; i++) writer.write(trace(i));
  await writer.close();
  assert.equal(writer.stats.written, 100);
  assert.equal(writer.stats.dropped, 30);
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    assert.equal((db.prepare("SELECT value FROM log_stats WHERE name = 'dropped_records'").get() as { value: number }).value, 30);
  } finally {
    db.close();
  }
});
