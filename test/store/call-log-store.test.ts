import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TraceRecord } from '../../src/log/trace.ts';
import { CallLogStore, parseCallLines, recentTraces, toCallLine } from '../../src/store/sqlite/call-log-store.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';

const trace = (requestId: string, path: string, extra: Record<string, unknown> = {}): TraceRecord => ({
  requestId, ts: 1_700_000_000_000, configVersion: 3, routeId: 'r', method: 'GET', path, query: '', host: null,
  clientIp: '127.0.0.1', peerIp: '127.0.0.1', clientIpVia: 'peer', status: 403, code: 'insufficient_scope', answeredBy: 'gateway', deniedBy: 'scopes',
  identity: { kind: 'api_key', credentialId: 'k1', consumerId: 'c1', tenantId: null, subject: 'c1', scopes: [], roles: [] },
  checks: [], request: { headers: { 'user-agent': 'x' }, contentLength: null, contentType: null, userAgent: null }, upstream: null, durationMs: 0.5, ...extra,
});

test('a batch of call lines parses back into the same rows, whatever the strings contain', () => {
  const nasty = 'ctl \u0001\u0002\u0000 quote " backslash \\ newline \n emoji 🙂 and \u2028';
  const records = [trace('a', '/one'), trace('b', nasty, { query: nasty }), trace('c', '/three')];
  const rows = parseCallLines(records.map(toCallLine).join(''));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => r[0]), ['a', 'b', 'c']);
  assert.equal(rows[1]![5], nasty, 'the path column survives');
  assert.deepEqual(JSON.parse(rows[1]![13]), records[1], 'the stored trace is the record itself');
  assert.deepEqual(rows[0]!.slice(0, 13), ['a', 1_700_000_000_000, 3, 'r', 'GET', '/one', 403, 'insufficient_scope', 'gateway', 'c1', 'k1', '127.0.0.1', 0.5]);
});

test('an empty batch has no rows', () => {
  assert.deepEqual(parseCallLines(''), []);
});

test('retention deletes the oldest calls before the cutoff and keeps the rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-store-'));
  try {
    const db = openDatabase(join(dir, 'p.db'));
    const store = new CallLogStore(db);
    const records = [1, 2, 3, 4, 5].map((n) => ({ ...trace(`id-${n}`, `/p${n}`), ts: n * 1000 }));
    store.insertBatch(parseCallLines(records.map(toCallLine).join('')));
    assert.equal(store.deleteOlderThan(3500), 3);
    assert.deepEqual(recentTraces(db, 10).map((t) => t.requestId), ['id-5', 'id-4']);
    assert.equal(store.deleteOlderThan(3500), 0, 'nothing left before the cutoff');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
