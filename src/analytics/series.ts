import type { CallLogReader, Dimension, Scope } from '../store/call-log-reader.ts';

// Time series and top offenders over the call log, together with the hourly rollups of
// calls already past retention, from whichever store the node logs to (the SQL is the
// store's: src/store/call-log-sql.ts). A tenant admin's view is limited to calls by its
// consumers or to its APIs' routes.

export { dimensions, type Dimension, type Scope } from '../store/call-log-reader.ts';

export interface SeriesPoint {
  readonly t: number;
  readonly total: number;
  readonly refused: number;
  /** Requests per value of the dimension in this bucket (refusals only for `reason`). */
  readonly by: Record<string, number>;
}

/** Buckets of `bucketMs` between from and to; every bucket is present, empty ones with zeros. */
export async function timeSeries(log: CallLogReader, scope: Scope, bucketMs: number, by: Dimension): Promise<SeriesPoint[]> {
  // Whole milliseconds: a bucket key computed in SQL must equal the one computed here.
  bucketMs = Math.max(1, Math.round(bucketMs));
  const rows = await log.seriesRows(scope, bucketMs, by);
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
export async function topOffenders(log: CallLogReader, scope: Scope, by: Dimension, limit: number): Promise<Offender[]> {
  const rows = await log.offenderRows(scope, by);
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
