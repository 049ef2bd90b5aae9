import type { DatabaseSync } from 'node:sqlite';

// Usage and cost aggregated per tenant / app (consumer) / key / model over a time range:
// what `pinpoint usage` prints and what the admin API can serve (docs/ai-gateway.md).

export type UsageDimension = 'tenant' | 'consumer' | 'key' | 'model' | 'provider' | 'day';
export const usageDimensions: readonly UsageDimension[] = ['tenant', 'consumer', 'key', 'model', 'provider', 'day'];

const columns: Record<UsageDimension, string> = {
  tenant: 'tenant_id', consumer: 'consumer_id', key: 'credential_id', model: 'model', provider: 'provider',
  day: "strftime('%Y-%m-%d', ts / 1000, 'unixepoch')",
};

export interface UsageQuery {
  readonly from: number;
  readonly to: number;
  readonly groupBy: readonly UsageDimension[];
  readonly tenant?: string | undefined;
  readonly consumer?: string | undefined;
  readonly model?: string | undefined;
}

export interface UsageLine {
  readonly group: Readonly<Partial<Record<UsageDimension, string | null>>>;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly costUsd: number;
  readonly costNanoUsd: number;
}

export function usageReport(db: DatabaseSync, q: UsageQuery): UsageLine[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ai_usage'").get();
  if (!exists) return [];
  const where = ['ts >= ?', 'ts < ?'];
  const params: (string | number)[] = [q.from, q.to];
  if (q.tenant !== undefined) { where.push('tenant_id = ?'); params.push(q.tenant); }
  if (q.consumer !== undefined) { where.push('consumer_id = ?'); params.push(q.consumer); }
  if (q.model !== undefined) { where.push('model = ?'); params.push(q.model); }
  const groups = q.groupBy.map((d, i) => `${columns[d]} AS g${i}`);
  const sql = `SELECT ${[...groups, 'COUNT(*) AS requests', 'SUM(prompt_tokens) AS p', 'SUM(completion_tokens) AS c', 'SUM(total_tokens) AS t', 'SUM(cost_nano_usd) AS cost'].join(', ')}
    FROM ai_usage WHERE ${where.join(' AND ')}${q.groupBy.length ? ` GROUP BY ${q.groupBy.map((_d, i) => `g${i}`).join(', ')} ORDER BY cost DESC, t DESC` : ''}`;
  const rows = db.prepare(sql).all(...params) as Record<string, string | number | null>[];
  return rows.filter((r) => Number(r.requests) > 0).map((r) => {
    const group: Partial<Record<UsageDimension, string | null>> = {};
    q.groupBy.forEach((d, i) => { group[d] = r[`g${i}`] === null ? null : String(r[`g${i}`]); });
    const nano = Number(r.cost ?? 0);
    return { group, requests: Number(r.requests), promptTokens: Number(r.p ?? 0), completionTokens: Number(r.c ?? 0), totalTokens: Number(r.t ?? 0), costNanoUsd: nano, costUsd: nano / 1e9 };
  });
}
