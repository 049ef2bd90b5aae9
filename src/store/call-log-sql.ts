import { ROLLUP_BUCKET_MS } from '../analytics/rollup.ts';
import type { AlertQuery, Dimension, Scope } from './call-log-reader.ts';

// The call-log queries as ONE text with a few dialect words, so SQLite and PostgreSQL cannot
// drift apart: only JSON access, parameter markers and the "newest row" column differ.
// COUNT(*) FILTER (WHERE ...) is spelled the same by both (SQLite >= 3.30).

export interface SqlDialect {
  /** The n-th (1-based) parameter marker. */
  param(n: number): string;
  /** Who made a call: identity, else the refusing check's evidence (src/analytics/caller.ts). */
  readonly consumer: string;
  readonly tenant: string;
  readonly credential: string;
  readonly stateVersion: string;
  /** The column giving insertion order. */
  readonly order: string;
  /** An integer SUM (PostgreSQL sums BIGINT into NUMERIC, which node-postgres returns as a string). */
  sumInt(expr: string): string;
  /** Distinct policy ids named by access-policy check evidence. */
  readonly matchedPolicies: string;
}

export interface Query { readonly sql: string; readonly params: (string | number | null)[] }

// Times are whole milliseconds in the log; a fractional bound (?from=1.5) means the same as its
// ceiling for both `>=` and `<`, and PostgreSQL would refuse it as a BIGINT parameter.
const ms = Math.ceil;

class Params {
  readonly values: (string | number | null)[] = [];
  private readonly d: SqlDialect;
  constructor(d: SqlDialect) { this.d = d; }
  add(v: string | number | null): string { this.values.push(v); return this.d.param(this.values.length); }
  list(vs: readonly (string | number)[]): string { return vs.map((v) => this.add(v)).join(', '); }
}

const rawColumn = (d: SqlDialect): Record<Dimension, string> => ({
  reason: 'code', route: 'route_id', consumer: d.consumer, tenant: d.tenant, clientIp: 'client_ip', status: 'status', credential: d.credential,
});
// The rollup has no credential column; a credential series over rolled-up hours reads as null.
const rollupColumn: Record<Dimension, string> = {
  reason: 'code', route: 'route_id', consumer: 'consumer_id', tenant: 'tenant_id', clientIp: 'client_ip', status: 'status', credential: 'CAST(NULL AS TEXT)',
};

function where(d: SqlDialect, p: Params, s: Scope, rollup: boolean): string {
  const ts = rollup ? 'bucket' : 'ts';
  const parts = [`${ts} >= ${p.add(rollup ? Math.floor(s.from / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS : ms(s.from))}`, `${ts} < ${p.add(ms(s.to))}`];
  if (s.tenant) {
    const tenant = p.add(s.tenant.id);
    const routes = s.tenant.routes.length ? `route_id IN (${p.list(s.tenant.routes)})` : '1 = 0';
    parts.push(`(${rollup ? 'tenant_id' : d.tenant} = ${tenant} OR ${routes})`);
  }
  if (s.refusedOnly) parts.push('status >= 400');
  if (s.route) parts.push(`route_id = ${p.add(s.route)}`);
  if (s.code) parts.push(`code = ${p.add(s.code)}`);
  return parts.join(' AND ');
}

export function seriesQueries(d: SqlDialect, s: Scope, bucketMs: number, by: Dimension, withRollup: boolean): Query[] {
  const b = Math.max(1, Math.round(bucketMs));
  const p = new Params(d);
  const out: Query[] = [{
    sql: `SELECT (ts / ${b}) * ${b} AS b, ${rawColumn(d)[by]} AS k, COUNT(*) AS n, COUNT(*) FILTER (WHERE status >= 400) AS refused
      FROM calls WHERE ${where(d, p, s, false)} GROUP BY 1, 2`,
    params: p.values,
  }];
  if (withRollup) {
    const r = new Params(d);
    out.push({
      sql: `SELECT (bucket / ${b}) * ${b} AS b, ${rollupColumn[by]} AS k, ${d.sumInt('n')} AS n, COALESCE(${d.sumInt('CASE WHEN status >= 400 THEN n ELSE 0 END')}, 0) AS refused
        FROM calls_rollup WHERE ${where(d, r, s, true)} GROUP BY 1, 2`,
      params: r.values,
    });
  }
  return out;
}

export function offenderQueries(d: SqlDialect, s: Scope, by: Dimension, withRollup: boolean): Query[] {
  const p = new Params(d);
  const out: Query[] = [{
    sql: `SELECT ${rawColumn(d)[by]} AS k, code, COUNT(*) AS n, COUNT(*) FILTER (WHERE status >= 400) AS refused FROM calls WHERE ${where(d, p, s, false)} GROUP BY 1, 2`,
    params: p.values,
  }];
  if (withRollup) {
    const r = new Params(d);
    out.push({
      sql: `SELECT ${rollupColumn[by]} AS k, code, ${d.sumInt('n')} AS n, COALESCE(${d.sumInt('CASE WHEN status >= 400 THEN n ELSE 0 END')}, 0) AS refused
        FROM calls_rollup WHERE ${where(d, r, s, true)} GROUP BY 1, 2`,
      params: r.values,
    });
  }
  return out;
}

export function dominantVersionsQuery(d: SqlDialect, from: number, to: number, route: string | undefined): Query {
  const p = new Params(d);
  const range = `ts >= ${p.add(ms(from))} AND ts < ${p.add(ms(to))}`;
  const r = route ? ` AND route_id = ${p.add(route)}` : '';
  // Ties broken by the newer versions, so both stores name the same pair.
  return { sql: `SELECT config_version AS c, ${d.stateVersion} AS s, COUNT(*) AS n FROM calls WHERE ${range} AND status >= 400${r} GROUP BY 1, 2 ORDER BY 3 DESC, 1 DESC, 2 DESC LIMIT 1`, params: p.values };
}

export function versionsBeforeQuery(d: SqlDialect, from: number, to: number): Query {
  const p = new Params(d);
  return { sql: `SELECT config_version AS c, ${d.stateVersion} AS s FROM calls WHERE ts >= ${p.add(ms(from))} AND ts < ${p.add(ms(to))} ORDER BY ${d.order} DESC LIMIT 1`, params: p.values };
}

export const logWindowStartSql = 'SELECT MIN(ts) AS t FROM calls';
// Refused attempts count as use too: whoever holds an expired or revoked key is still sending it.
export const credentialUsageSql = (d: SqlDialect) => `SELECT k, MAX(ts) AS last, COUNT(*) AS n FROM (SELECT ${d.credential} AS k, ts FROM calls) c WHERE k IS NOT NULL GROUP BY k`;
export const admittedCallsSql = 'SELECT credential_id AS k, route_id AS r, method AS m FROM calls WHERE credential_id IS NOT NULL AND route_id IS NOT NULL AND status < 400 GROUP BY 1, 2, 3';

const groupColumn = (d: SqlDialect): Record<AlertQuery['groupBy'], string> => ({
  none: "''", route: 'route_id', consumer: d.consumer, tenant: d.tenant, clientIp: 'client_ip', credential: d.credential,
});

/** The calls an alert rule looks at, with its group and whether each matches, as a subquery. */
function alertCalls(d: SqlDialect, p: Params, q: AlertQuery): string {
  // Markers are numbered in the order they appear in the text (SQLite's `?` are positional).
  const match: string[] = [];
  if (q.status?.length) match.push(`status IN (${p.list(q.status)})`);
  if (q.codes?.length) match.push(`code IN (${p.list(q.codes)})`);
  if (q.origin) match.push(`answered_by = ${p.add(q.origin)}`);
  const scope = [`ts >= ${p.add(ms(q.from))}`, `ts < ${p.add(ms(q.to))}`];
  if (q.routes?.length) scope.push(`route_id IN (${p.list(q.routes)})`);
  if (q.consumers?.length) scope.push(`${d.consumer} IN (${p.list(q.consumers)})`);
  if (q.tenants?.length) scope.push(`${d.tenant} IN (${p.list(q.tenants)})`);
  return `SELECT ${groupColumn(d)[q.groupBy]} AS g, CASE WHEN ${match.length ? match.join(' AND ') : '1 = 1'} THEN 1 ELSE 0 END AS m,
    ts, ${d.order} AS o, request_id, config_version, ${d.stateVersion} AS s FROM calls WHERE ${scope.join(' AND ')}`;
}

export function alertCountsQuery(d: SqlDialect, q: AlertQuery): Query {
  const p = new Params(d);
  const inner = alertCalls(d, p, q);
  // Groups are strings everywhere (the in-memory key of a group), whatever the column's type.
  return { sql: `SELECT CAST(g AS TEXT) AS "group", COUNT(*) FILTER (WHERE m = 1) AS matching, COUNT(*) AS total
    FROM (${inner}) x WHERE g IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT ${p.add(q.limit)}`, params: p.values };
}

export function alertSamplesQuery(d: SqlDialect, q: AlertQuery, group: string, limit: number): Query {
  const p = new Params(d);
  const inner = alertCalls(d, p, q);
  return { sql: `SELECT request_id AS "requestId", config_version AS "configVersion", s AS "stateVersion"
    FROM (${inner}) x WHERE m = 1 AND CAST(g AS TEXT) = ${p.add(group)} ORDER BY ts DESC, o DESC LIMIT ${p.add(limit)}`, params: p.values };
}
