import type { DatabaseSync } from 'node:sqlite';
import { CONSUMER_SQL, CREDENTIAL_SQL, TENANT_SQL } from '../../analytics/caller.ts';
import { hasRollupTable } from '../../analytics/rollup.ts';
import type { AlertGroupCount, AlertQuery, AlertSample, CallLogReader, Dimension, OffenderRow, Scope, SeriesRow, Versions } from '../call-log-reader.ts';
import { admittedCallsSql, alertCountsQuery, alertSamplesQuery, credentialUsageSql, dominantVersionsQuery, logWindowStartSql, offenderQueries, seriesQueries, versionsBeforeQuery, type Query, type SqlDialect } from '../call-log-sql.ts';

export const sqliteDialect: SqlDialect = {
  param: () => '?',
  consumer: CONSUMER_SQL, tenant: TENANT_SQL, credential: CREDENTIAL_SQL,
  stateVersion: "json_extract(trace, '$.stateVersion')",
  order: 'rowid',
  sumInt: (e) => `SUM(${e})`,
  matchedPolicies: `SELECT DISTINCT json_extract(c.value, '$.evidence.policy') AS p FROM calls, json_each(calls.trace, '$.checks') AS c
    WHERE json_extract(c.value, '$.id') = 'access-policy' AND json_extract(c.value, '$.evidence.policy') IS NOT NULL`,
};

// node:sqlite rows have a null prototype: copied, they compare and serialize like any object.
const all = <T>(db: DatabaseSync, q: Query): T[] => (db.prepare(q.sql).all(...q.params) as object[]).map((r) => ({ ...r }) as T);
const one = <T>(db: DatabaseSync, q: Query): T | undefined => all<T>(db, q)[0];
const toVersions = (r: { c: number; s: number | null } | undefined): Versions | null => (r ? { configVersion: r.c, stateVersion: r.s } : null);

/** The call-log queries on the SQLite file (synchronous calls, resolved at once). */
export class SqliteCallLogReader implements CallLogReader {
  private readonly db: DatabaseSync;
  constructor(db: DatabaseSync) { this.db = db; }

  async seriesRows(scope: Scope, bucketMs: number, by: Dimension): Promise<SeriesRow[]> {
    return seriesQueries(sqliteDialect, scope, bucketMs, by, hasRollupTable(this.db)).flatMap((q) => all<SeriesRow>(this.db, q));
  }

  async offenderRows(scope: Scope, by: Dimension): Promise<OffenderRow[]> {
    return offenderQueries(sqliteDialect, scope, by, hasRollupTable(this.db)).flatMap((q) => all<OffenderRow>(this.db, q));
  }

  async dominantVersions(from: number, to: number, route: string | undefined): Promise<Versions | null> {
    return toVersions(one(this.db, dominantVersionsQuery(sqliteDialect, from, to, route)));
  }

  async versionsBefore(from: number, to: number): Promise<Versions | null> {
    return toVersions(one(this.db, versionsBeforeQuery(sqliteDialect, from, to)));
  }

  async logWindowStart(): Promise<number | null> {
    return one<{ t: number | null }>(this.db, { sql: logWindowStartSql, params: [] })?.t ?? null;
  }

  async credentialUsage() { return all<{ k: string; last: number; n: number }>(this.db, { sql: credentialUsageSql(sqliteDialect), params: [] }); }
  async admittedCalls() { return all<{ k: string; r: string; m: string }>(this.db, { sql: admittedCallsSql, params: [] }); }
  async matchedPolicies(): Promise<string[]> { return all<{ p: string }>(this.db, { sql: sqliteDialect.matchedPolicies, params: [] }).map((r) => r.p); }

  async alertCounts(q: AlertQuery): Promise<AlertGroupCount[]> { return all<AlertGroupCount>(this.db, alertCountsQuery(sqliteDialect, q)); }
  async alertSamples(q: AlertQuery, group: string, limit: number): Promise<AlertSample[]> { return all<AlertSample>(this.db, alertSamplesQuery(sqliteDialect, q, group, limit)); }
}
