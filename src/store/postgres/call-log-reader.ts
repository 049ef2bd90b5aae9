import type pg from 'pg';
import type { AlertGroupCount, AlertQuery, AlertSample, CallLogReader, Dimension, OffenderRow, Scope, SeriesRow, Versions } from '../call-log-reader.ts';
import { admittedCallsSql, alertCountsQuery, alertSamplesQuery, credentialUsageSql, dominantVersionsQuery, logWindowStartSql, offenderQueries, seriesQueries, versionsBeforeQuery, type Query, type SqlDialect } from '../call-log-sql.ts';

// The trace is TEXT, read as `json`. A request path may carry NUL, which JSON.stringify wrote
// as the escape \u0000; PostgreSQL's json functions refuse to de-escape it (no NUL in text),
// so it is read as U+FFFD. None of the fields read here (ids, versions) can hold a NUL.
const doc = "replace(trace, '\\u0000', '\\ufffd')::json";
const last = `${doc} -> 'checks' -> -1 -> 'evidence'`;

export const postgresDialect: SqlDialect = {
  param: (n) => `$${n}`,
  consumer: `COALESCE(consumer_id, ${last} ->> 'consumer')`,
  tenant: `COALESCE(${doc} -> 'identity' ->> 'tenantId', ${last} ->> 'tenant')`,
  credential: `COALESCE(credential_id, ${last} ->> 'key_id')`,
  stateVersion: `(${doc} ->> 'stateVersion')::bigint`,
  order: 'seq',
  sumInt: (e) => `SUM(${e})::bigint`,
  matchedPolicies: `SELECT DISTINCT c -> 'evidence' ->> 'policy' AS p FROM calls, json_array_elements(${doc} -> 'checks') AS c
    WHERE c ->> 'id' = 'access-policy' AND c -> 'evidence' ->> 'policy' IS NOT NULL`,
};

const toVersions = (r: { c: number; s: number | null } | undefined): Versions | null => (r ? { configVersion: r.c, stateVersion: r.s } : null);

/** The call-log queries on the shared PostgreSQL database: every node's calls. */
export class PostgresCallLogReader implements CallLogReader {
  private readonly pool: pg.Pool;
  constructor(pool: pg.Pool) { this.pool = pool; }

  private async all<T>(q: Query): Promise<T[]> { return (await this.pool.query(q.sql, q.params)).rows as T[]; }

  async seriesRows(scope: Scope, bucketMs: number, by: Dimension): Promise<SeriesRow[]> {
    return (await Promise.all(seriesQueries(postgresDialect, scope, bucketMs, by, true).map((q) => this.all<SeriesRow>(q)))).flat();
  }

  async offenderRows(scope: Scope, by: Dimension): Promise<OffenderRow[]> {
    return (await Promise.all(offenderQueries(postgresDialect, scope, by, true).map((q) => this.all<OffenderRow>(q)))).flat();
  }

  async dominantVersions(from: number, to: number, route: string | undefined): Promise<Versions | null> {
    return toVersions((await this.all<{ c: number; s: number | null }>(dominantVersionsQuery(postgresDialect, from, to, route)))[0]);
  }

  async versionsBefore(from: number, to: number): Promise<Versions | null> {
    return toVersions((await this.all<{ c: number; s: number | null }>(versionsBeforeQuery(postgresDialect, from, to)))[0]);
  }

  async logWindowStart(): Promise<number | null> {
    return (await this.all<{ t: number | null }>({ sql: logWindowStartSql, params: [] }))[0]?.t ?? null;
  }

  credentialUsage() { return this.all<{ k: string; last: number; n: number }>({ sql: credentialUsageSql(postgresDialect), params: [] }); }
  admittedCalls() { return this.all<{ k: string; r: string; m: string }>({ sql: admittedCallsSql, params: [] }); }
  async matchedPolicies(): Promise<string[]> { return (await this.all<{ p: string }>({ sql: postgresDialect.matchedPolicies, params: [] })).map((r) => r.p); }

  alertCounts(q: AlertQuery): Promise<AlertGroupCount[]> { return this.all<AlertGroupCount>(alertCountsQuery(postgresDialect, q)); }
  alertSamples(q: AlertQuery, group: string, limit: number): Promise<AlertSample[]> { return this.all<AlertSample>(alertSamplesQuery(postgresDialect, q, group, limit)); }
}
