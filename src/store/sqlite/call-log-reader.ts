import { CONSUMER_SQL, CREDENTIAL_SQL, TENANT_SQL } from '../../analytics/caller.ts';
import type { AlertGroupCount, AlertQuery, AlertSample, CallLogReader, Dimension, OffenderRow, Scope, SeriesRow, Versions } from '../call-log-reader.ts';
import type { QueryRunner } from './query-runner.ts';
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

const toVersions = (r: { c: number; s: number | null } | undefined): Versions | null => (r ? { configVersion: r.c, stateVersion: r.s } : null);
const rollupTableSql = "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'calls_rollup'";

/** The call-log queries on the SQLite file, run inline or in a worker thread (query-runner.ts). */
export class SqliteCallLogReader implements CallLogReader {
  private readonly q: QueryRunner;
  constructor(runner: QueryRunner) { this.q = runner; }

  private all<T>(query: Query): Promise<T[]> { return this.q.all<T>(query); }
  private async one<T>(query: Query): Promise<T | undefined> { return (await this.q.all<T>(query))[0]; }
  private async hasRollup(): Promise<boolean> { return (await this.q.all({ sql: rollupTableSql, params: [] })).length > 0; }
  private async many<T>(queries: Query[]): Promise<T[]> { return (await Promise.all(queries.map((x) => this.all<T>(x)))).flat(); }

  async seriesRows(scope: Scope, bucketMs: number, by: Dimension): Promise<SeriesRow[]> {
    return this.many<SeriesRow>(seriesQueries(sqliteDialect, scope, bucketMs, by, await this.hasRollup()));
  }

  async offenderRows(scope: Scope, by: Dimension): Promise<OffenderRow[]> {
    return this.many<OffenderRow>(offenderQueries(sqliteDialect, scope, by, await this.hasRollup()));
  }

  async dominantVersions(from: number, to: number, route: string | undefined): Promise<Versions | null> {
    return toVersions(await this.one(dominantVersionsQuery(sqliteDialect, from, to, route)));
  }

  async versionsBefore(from: number, to: number): Promise<Versions | null> {
    return toVersions(await this.one(versionsBeforeQuery(sqliteDialect, from, to)));
  }

  async logWindowStart(): Promise<number | null> {
    return (await this.one<{ t: number | null }>({ sql: logWindowStartSql, params: [] }))?.t ?? null;
  }

  async credentialUsage() { return this.all<{ k: string; last: number; n: number }>({ sql: credentialUsageSql(sqliteDialect), params: [] }); }
  async admittedCalls() { return this.all<{ k: string; r: string; m: string }>({ sql: admittedCallsSql, params: [] }); }
  async matchedPolicies(): Promise<string[]> { return (await this.all<{ p: string }>({ sql: sqliteDialect.matchedPolicies, params: [] })).map((r) => r.p); }

  async alertCounts(q: AlertQuery): Promise<AlertGroupCount[]> { return this.all<AlertGroupCount>(alertCountsQuery(sqliteDialect, q)); }
  async alertSamples(q: AlertQuery, group: string, limit: number): Promise<AlertSample[]> { return this.all<AlertSample>(alertSamplesQuery(sqliteDialect, q, group, limit)); }
}
