import type pg from 'pg';
import type { TraceRecord } from '../../log/trace.ts';
import type { Store, StoreLocation } from '../store.ts';
import type { CallRow } from '../sqlite/call-log-store.ts';
import type { ConfigVersionRow } from '../sqlite/config-versions.ts';
import type { AlertStateStore } from '../alert-state.ts';
import type { CallLogReader } from '../call-log-reader.ts';
import { ROLLUP_BUCKET_MS, ROLLUP_RETENTION_MS } from '../../analytics/rollup.ts';
import { PostgresAlertState } from './alert-state.ts';
import { PostgresCallLogReader, postgresDialect } from './call-log-reader.ts';
import { createPool, ensureDatabase, inTransaction, LOCK_CONFIG_VERSION, migrate, withDefaultUser } from './database.ts';

/** Notified (in the same transaction as the insert) whenever a config version is recorded. */
export const CONFIG_CHANNEL = 'pinpoint_config';

// PostgreSQL text cannot hold NUL; JSON.stringify already escapes it in the trace, and a
// column that is only an index key loses nothing by showing it as U+FFFD.
const clean = (s: string | null): string | null => (s === null || !s.includes('\u0000') ? s : s.replace(/\u0000/g, '\uFFFD'));

/** The shared store: every node writes its call log here and reads config versions from here. */
export class PostgresStore implements Store {
  readonly location: StoreLocation;
  readonly pool: pg.Pool;
  readonly log: CallLogReader;
  readonly alerts: AlertStateStore;

  private constructor(url: string, pool: pg.Pool) {
    this.location = { kind: 'postgres', url };
    this.pool = pool;
    this.log = new PostgresCallLogReader(pool);
    this.alerts = new PostgresAlertState(pool, url);
  }

  /** Creates the database if missing (unless createDatabase is false) and applies pending migrations. */
  static async open(given: string, options: { poolSize?: number; createDatabase?: boolean } = {}): Promise<PostgresStore> {
    const url = withDefaultUser(given);
    if (options.createDatabase !== false) await ensureDatabase(url);
    const pool = createPool(url, options.poolSize);
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStore(url, pool);
  }

  async insertBatch(rows: readonly CallRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One statement per batch: 14 arrays unnested into rows, one round trip for hundreds of calls.
    const columns: unknown[][] = Array.from({ length: 14 }, () => []);
    for (const r of rows) for (let i = 0; i < 14; i++) columns[i]!.push(typeof r[i] === 'string' ? clean(r[i] as string) : r[i]);
    await this.pool.query(`INSERT INTO calls
      (request_id, ts, config_version, route_id, method, path, status, code, answered_by, consumer_id, credential_id, client_ip, duration_ms, trace)
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[],
                           $10::text[], $11::text[], $12::text[], $13::float8[], $14::text[])
      ON CONFLICT (request_id) DO UPDATE SET ts = excluded.ts, config_version = excluded.config_version, route_id = excluded.route_id,
        method = excluded.method, path = excluded.path, status = excluded.status, code = excluded.code, answered_by = excluded.answered_by,
        consumer_id = excluded.consumer_id, credential_id = excluded.credential_id, client_ip = excluded.client_ip,
        duration_ms = excluded.duration_ms, trace = excluded.trace`, columns);
  }

  async findTrace(requestId: string): Promise<TraceRecord | null> {
    const { rows } = await this.pool.query<{ trace: string }>('SELECT trace FROM calls WHERE request_id = $1', [requestId]);
    return rows[0] ? (JSON.parse(rows[0].trace) as TraceRecord) : null;
  }

  async recentTraces(limit: number): Promise<TraceRecord[]> {
    const { rows } = await this.pool.query<{ trace: string }>('SELECT trace FROM calls ORDER BY seq DESC LIMIT $1', [limit]);
    return rows.map((r) => JSON.parse(r.trace) as TraceRecord);
  }

  async deleteOlderThan(before: number, limit = 20_000): Promise<number> {
    // Counted into hourly rollups by the same statement that deletes them (as SQLite does in
    // one transaction): a call is counted exactly once, in the log or in the rollup.
    const d = postgresDialect;
    const { rows } = await this.pool.query<{ n: number }>(`WITH victims AS (
        DELETE FROM calls WHERE seq IN (SELECT seq FROM calls WHERE ts < $1 ORDER BY ts LIMIT $2) RETURNING *
      ), rolled AS (
        INSERT INTO calls_rollup (bucket, route_id, status, code, answered_by, consumer_id, tenant_id, client_ip, config_version, state_version, n)
        SELECT (ts / ${ROLLUP_BUCKET_MS}) * ${ROLLUP_BUCKET_MS}, route_id, status, code, answered_by, ${d.consumer}, ${d.tenant}, client_ip, config_version, ${d.stateVersion}, COUNT(*)
        FROM victims GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
      ) SELECT COUNT(*) AS n FROM victims`, [before, limit]);
    await this.pool.query('DELETE FROM calls_rollup WHERE bucket < $1', [before - ROLLUP_RETENTION_MS]);
    return rows[0]?.n ?? 0;
  }

  async setStat(name: string, value: number, now: number): Promise<void> {
    await this.pool.query('INSERT INTO log_stats (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at', [name, value, now]);
  }

  async readStats(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ name: string; value: number }>('SELECT name, value FROM log_stats');
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  recordConfigVersion(hash: string, file: string, text: string, now: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      // Serializes version numbering across nodes; released at commit.
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_CONFIG_VERSION]);
      const { rows } = await client.query<{ version: number; hash: string }>('SELECT version, hash FROM config_versions ORDER BY version DESC LIMIT 1');
      const last = rows[0];
      if (last && last.hash === hash) return last.version;
      const version = (last?.version ?? 0) + 1;
      await client.query('INSERT INTO config_versions (version, hash, file, loaded_at, text) VALUES ($1, $2, $3, $4, $5)', [version, hash, file, now, text]);
      // Delivered to listeners when (and only if) this transaction commits.
      await client.query('SELECT pg_notify($1, $2)', [CONFIG_CHANNEL, String(version)]);
      return version;
    });
  }

  async getConfigVersion(version: number): Promise<ConfigVersionRow | null> {
    const { rows } = await this.pool.query<ConfigVersionRow>('SELECT version, hash, file, loaded_at AS "loadedAt", text FROM config_versions WHERE version = $1', [version]);
    return rows[0] ?? null;
  }

  async latestConfigVersion(): Promise<ConfigVersionRow | null> {
    const { rows } = await this.pool.query<ConfigVersionRow>('SELECT version, hash, file, loaded_at AS "loadedAt", text FROM config_versions ORDER BY version DESC LIMIT 1');
    return rows[0] ?? null;
  }

  reset(): Promise<void> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_CONFIG_VERSION]);
      await client.query('TRUNCATE calls, calls_rollup, config_versions, log_stats, alert_state, alert_notifications RESTART IDENTITY');
    });
  }

  async close(): Promise<void> { await this.pool.end(); }
}
