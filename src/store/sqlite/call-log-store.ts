import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { TraceRecord } from '../../log/trace.ts';
import { rollUpAndDelete } from '../../analytics/rollup.ts';

/** The indexed columns of a trace, then the trace itself as JSON: built on the request thread, stored as is. */
export type CallRow = readonly [
  requestId: string, ts: number, configVersion: number, routeId: string | null, method: string, path: string, status: number,
  code: string | null, answeredBy: string, consumerId: string | null, credentialId: string | null, clientIp: string, durationMs: number, trace: string,
];

// A batch travels to the log worker as ONE run of text (its UTF-8 bytes, transferred): cloning
// hundreds of row arrays was a tenth of the request thread's time. JSON.stringify escapes
// every control character, so these two never occur inside a serialized value (nor, as
// bytes, inside UTF-8, whose multi-byte sequences use only bytes >= 0x80).
const FIELD = '\u0001';
const ROW = '\u0002';
/** The separators as the bytes of a UTF-8 encoded batch (src/log/call-batch.ts writes those). */
export const FIELD_BYTE = FIELD.charCodeAt(0);
export const ROW_BYTE = ROW.charCodeAt(0);

/** A row's indexed columns as a small JSON array: the part of a call line before FIELD. */
export function callColumns(r: TraceRecord): string {
  return JSON.stringify([r.requestId, r.ts, r.configVersion, r.routeId, r.method, r.path, r.status, r.code, r.answeredBy,
    r.identity?.consumerId ?? null, r.identity?.credentialId ?? null, r.clientIp, r.durationMs]);
}

/** One row as text: its indexed columns as a small JSON array, then the trace JSON. */
export function toCallLine(r: TraceRecord): string {
  return callColumns(r) + FIELD + JSON.stringify(r) + ROW;
}

export function parseCallLines(batch: string): CallRow[] {
  const rows: CallRow[] = [];
  let start = 0;
  for (let end = batch.indexOf(ROW, start); end !== -1; end = batch.indexOf(ROW, start)) {
    const split = batch.indexOf(FIELD, start);
    const columns = JSON.parse(batch.slice(start, split)) as unknown[];
    rows.push([...columns, batch.slice(split + 1, end)] as unknown as CallRow);
    start = end + 1;
  }
  return rows;
}

export class CallLogStore {
  private readonly insert: StatementSync;
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.insert = db.prepare(`INSERT OR REPLACE INTO calls
      (request_id, ts, config_version, route_id, method, path, status, code, answered_by, consumer_id, credential_id, client_ip, duration_ms, trace)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  }

  /** One transaction per batch: one fsync for hundreds of records. */
  insertBatch(rows: readonly CallRow[]): void {
    this.db.exec('BEGIN');
    try {
      for (const r of rows) this.insert.run(...r);
      this.db.exec('COMMIT');
    } catch (err) {
      // On a full disk (SQLITE_FULL) or an I/O error SQLite has already rolled back, and a
      // second ROLLBACK would throw "no transaction is active", hiding the real cause.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Retention: deletes calls older than `before`, a bounded number per call so the worker never stalls. */
  deleteOlderThan(before: number, limit = 20_000): number {
    // Counted into hourly rollups first (analytics keep the history): src/analytics/rollup.ts.
    return rollUpAndDelete(this.db, before, limit);
  }

  setStat(name: string, value: number, now: number): void {
    this.db.prepare('INSERT INTO log_stats (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at').run(name, value, now);
  }
}

export function findTrace(db: DatabaseSync, requestId: string): TraceRecord | null {
  const row = db.prepare('SELECT trace FROM calls WHERE request_id = ?').get(requestId) as { trace: string } | undefined;
  return row ? (JSON.parse(row.trace) as TraceRecord) : null;
}

export function recentTraces(db: DatabaseSync, limit: number): TraceRecord[] {
  const rows = db.prepare('SELECT trace FROM calls ORDER BY rowid DESC LIMIT ?').all(limit) as { trace: string }[];
  return rows.map((r) => JSON.parse(r.trace) as TraceRecord);
}

export function readStats(db: DatabaseSync): Record<string, number> {
  const rows = db.prepare('SELECT name, value FROM log_stats').all() as { name: string; value: number }[];
  return Object.fromEntries(rows.map((r) => [r.name, r.value]));
}
