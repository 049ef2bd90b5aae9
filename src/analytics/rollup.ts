import type { DatabaseSync } from 'node:sqlite';
import { CONSUMER_SQL, TENANT_SQL } from './caller.ts';

// Downsampling: before retention deletes old calls, they are counted into hourly rows
// (route, status, reason, origin, consumer, tenant, client IP). Analytics read both, so a
// time series keeps its history after the traces themselves are gone, at a fraction of the size.

export const ROLLUP_BUCKET_MS = 3600_000;
/** Hourly rows are kept this long; then they go too, so nothing grows without bound. */
export const ROLLUP_RETENTION_MS = 400 * 86400_000;

export function ensureRollupTable(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS calls_rollup (
    bucket INTEGER NOT NULL,
    route_id TEXT, status INTEGER NOT NULL, code TEXT, answered_by TEXT NOT NULL,
    consumer_id TEXT, tenant_id TEXT, client_ip TEXT NOT NULL, config_version INTEGER NOT NULL, state_version INTEGER,
    n INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS calls_rollup_bucket ON calls_rollup(bucket);`);
}

/**
 * Rolls the calls that retention is about to delete into hourly rows, then deletes them, in
 * one transaction: a call is counted exactly once, in the log or in the rollup.
 */
export function rollUpAndDelete(db: DatabaseSync, before: number, limit: number): number {
  ensureRollupTable(db);
  const victims = 'SELECT rowid FROM calls WHERE rowid IN (SELECT rowid FROM calls ORDER BY rowid LIMIT ?) AND ts < ?';
  db.exec('BEGIN');
  try {
    db.prepare(`INSERT INTO calls_rollup (bucket, route_id, status, code, answered_by, consumer_id, tenant_id, client_ip, config_version, state_version, n)
      SELECT (ts / ${ROLLUP_BUCKET_MS}) * ${ROLLUP_BUCKET_MS}, route_id, status, code, answered_by, ${CONSUMER_SQL},
             ${TENANT_SQL}, client_ip, config_version, json_extract(trace, '$.stateVersion'), COUNT(*)
      FROM calls WHERE rowid IN (${victims})
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`).run(limit, before);
    const r = db.prepare(`DELETE FROM calls WHERE rowid IN (${victims})`).run(limit, before);
    db.prepare('DELETE FROM calls_rollup WHERE bucket < ?').run(before - ROLLUP_RETENTION_MS);
    db.exec('COMMIT');
    return Number(r.changes);
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
