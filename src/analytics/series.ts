import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { CONSUMER_SQL, CREDENTIAL_SQL, OTHER_TENANT, TENANT_SQL } from './caller.ts';
import { hasRollupTable, ROLLUP_BUCKET_MS } from './rollup.ts';

// Time series and top offenders over the call log (SQLite), together with the hourly
// rollups of calls already past retention. A tenant admin's view is limited to calls by its
// consumers or to its APIs' routes.

export const dimensions = ['reason', 'route', 'consumer', 'tenant', 'clientIp', 'status', 'credential'] as const;
export type Dimension = (typeof dimensions)[number];

const rawColumn: Record<Dimension, string> = {
  reason: 'code', route: 'route_id', consumer: CONSUMER_SQL, tenant: TENANT_SQL, clientIp: 'client_ip', status: 'status', credential: CREDENTIAL_SQL,
};
// The rollup has no credential column; a credential series over rolled-up hours reads as null.
const rollupColumn: Record<Dimension, string> = {
  reason: 'code', route: 'route_id', consumer: 'consumer_id', tenant: 'tenant_id', clientIp: 'client_ip', status: 'status', credential: 'NULL',
};

export interface Scope {
  readonly from: number;
  readonly to: number;
  /** Tenant admins: calls by this tenant's consumers or to these routes only. */
  readonly tenant?: { readonly id: string; readonly routes: readonly string[] } | undefined;
  /** Only refusals (status >= 400) when true. */
  readonly refusedOnly?: boolean;
  readonly route?: string | undefined;
  readonly code?: string | undefined;
}

const identityDimensions: ReadonlySet<Dimension> = new Set(['consumer', 'tenant', 'credential']);

/**
 * The grouping column. A tenant admin sees the calls to its APIs, also by other tenants'
 * callers, but not who those callers are: their consumer, tenant and key read as one label.
 */
function column(s: Scope, by: Dimension, rollup: boolean): { sql: string; params: SQLInputValue[] } {
  const col = rollup ? rollupColumn[by] : rawColumn[by];
  if (!s.tenant || !identityDimensions.has(by)) return { sql: col, params: [] };
  const tenant = rollup ? 'tenant_id' : rawColumn.tenant;
  return { sql: `CASE WHEN ${tenant} IS NULL OR ${tenant} = ? THEN ${col} ELSE ? END`, params: [s.tenant.id, OTHER_TENANT] };
}

/** The WHERE clause for raw calls (a) and rollups (b), with its parameters. */
function where(s: Scope, rollup: boolean): { sql: string; params: SQLInputValue[] } {
  const ts = rollup ? 'bucket' : 'ts';
  const parts = [`${ts} >= ?`, `${ts} < ?`];
  const params: SQLInputValue[] = [rollup ? Math.floor(s.from / ROLLUP_BUCKET_MS) * ROLLUP_BUCKET_MS : s.from, s.to];
  if (s.tenant) {
    const routes = s.tenant.routes.length ? `route_id IN (${s.tenant.routes.map(() => '?').join(',')})` : '0';
    parts.push(`(${rollup ? 'tenant_id' : rawColumn.tenant} = ? OR ${routes})`);
    params.push(s.tenant.id, ...s.tenant.routes);
  }
  if (s.refusedOnly) parts.push('status >= 400');
  if (s.route) { parts.push('route_id = ?'); params.push(s.route); }
  if (s.code) { parts.push('code = ?'); params.push(s.code); }
  return { sql: parts.join(' AND '), params };
}

export interface SeriesPoint {
  readonly t: number;
  readonly total: number;
  readonly refused: number;
  /** Requests per value of the dimension in this bucket (refusals only for `reason`). */
  readonly by: Record<string, number>;
}

/** Buckets of `bucketMs` between from and to; every bucket is present, empty ones with zeros. */
export function timeSeries(db: DatabaseSync, scope: Scope, bucketMs: number, by: Dimension): SeriesPoint[] {
  const rows: { b: number; k: string | number | null; n: number; refused: number }[] = [];
  const raw = where(scope, false);
  const rawCol = column(scope, by, false);
  rows.push(...(db.prepare(`SELECT (ts / ${bucketMs}) * ${bucketMs} AS b, ${rawCol.sql} AS k, COUNT(*) AS n, SUM(status >= 400) AS refused FROM calls WHERE ${raw.sql} GROUP BY b, k`).all(...rawCol.params, ...raw.params) as typeof rows));
  if (hasRollupTable(db)) {
    const r = where(scope, true);
    const rCol = column(scope, by, true);
    rows.push(...(db.prepare(`SELECT (bucket / ${bucketMs}) * ${bucketMs} AS b, ${rCol.sql} AS k, SUM(n) AS n, SUM(CASE WHEN status >= 400 THEN n ELSE 0 END) AS refused FROM calls_rollup WHERE ${r.sql} GROUP BY b, k`).all(...rCol.params, ...r.params) as typeof rows));
  }
  const points = new Map<number, { t: number; total: number; refused: number; by: Record<string, number> }>();
  const first = Math.floor(scope.from / bucketMs) * bucketMs;
  for (let t = first; t < scope.to && points.size < 10_000; t += bucketMs) points.set(t, { t, total: 0, refused: 0, by: {} });
  for (const row of rows) {
    const p = points.get(row.b) ?? { t: row.b, total: 0, refused: 0, by: {} };
    points.set(row.b, p);
    p.total += row.n;
    p.refused += row.refused;
    const key = row.k === null ? '(none)' : String(row.k);
    const n = by === 'reason' ? row.refused : row.n;
    if (n > 0 && !(by === 'reason' && row.k === null)) p.by[key] = (p.by[key] ?? 0) + n;
  }
  return [...points.values()].sort((a, b) => a.t - b.t);
}

export interface Offender {
  readonly key: string;
  readonly refused: number;
  readonly total: number;
  /** Its most frequent refusal reasons. */
  readonly codes: Record<string, number>;
}

/** Who is refused most: by consumer, client IP, credential or route. */
export function topOffenders(db: DatabaseSync, scope: Scope, by: Dimension, limit: number): Offender[] {
  const rows: { k: string | number | null; code: string | null; n: number; refused: number }[] = [];
  const raw = where(scope, false);
  const rawCol = column(scope, by, false);
  rows.push(...(db.prepare(`SELECT ${rawCol.sql} AS k, code, COUNT(*) AS n, SUM(status >= 400) AS refused FROM calls WHERE ${raw.sql} GROUP BY k, code`).all(...rawCol.params, ...raw.params) as typeof rows));
  if (hasRollupTable(db)) {
    const r = where(scope, true);
    const rCol = column(scope, by, true);
    rows.push(...(db.prepare(`SELECT ${rCol.sql} AS k, code, SUM(n) AS n, SUM(CASE WHEN status >= 400 THEN n ELSE 0 END) AS refused FROM calls_rollup WHERE ${r.sql} GROUP BY k, code`).all(...rCol.params, ...r.params) as typeof rows));
  }
  const acc = new Map<string, { key: string; refused: number; total: number; codes: Record<string, number> }>();
  for (const row of rows) {
    const key = row.k === null ? '(none)' : String(row.k);
    const o = acc.get(key) ?? { key, refused: 0, total: 0, codes: {} };
    acc.set(key, o);
    o.total += row.n;
    o.refused += row.refused;
    if (row.code && row.refused > 0) o.codes[row.code] = (o.codes[row.code] ?? 0) + row.refused;
  }
  return [...acc.values()].filter((o) => o.refused > 0).sort((a, b) => b.refused - a.refused || a.key.localeCompare(b.key)).slice(0, limit);
}
