import type { DatabaseSync, StatementSync } from 'node:sqlite';

// Per-request usage and cost, in the gateway's SQLite file, next to the call log. Rows are
// queued on the request path and written in batches (one transaction per flush), so a
// request never waits for the disk. Costs are integers in nano-USD: sums stay exact.

export interface UsageRow {
  readonly requestId: string;
  readonly ts: number;
  readonly tenantId: string | null;
  readonly consumerId: string | null;
  readonly credentialId: string | null;
  readonly model: string;
  readonly provider: string;
  readonly providerModel: string;
  readonly endpoint: 'chat' | 'embeddings' | 'prompt';
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly costNano: number;
  readonly stream: boolean;
  /** false when the stream ended early (client left, provider broke): the counts are what was reported. */
  readonly complete: boolean;
}

export const usageSchemaSql = `
  CREATE TABLE IF NOT EXISTS ai_usage (
    request_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    tenant_id TEXT,
    consumer_id TEXT,
    credential_id TEXT,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_nano_usd INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    complete INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS ai_usage_ts ON ai_usage(ts);
`;

export class UsageStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  #queue: UsageRow[] = [];
  #timer: NodeJS.Timeout | null = null;
  readonly #flushMs: number;

  constructor(db: DatabaseSync, flushMs = 50) {
    this.#db = db;
    db.exec(usageSchemaSql);
    this.#insert = db.prepare(`INSERT INTO ai_usage (request_id, ts, tenant_id, consumer_id, credential_id, model, provider, provider_model, endpoint,
      prompt_tokens, completion_tokens, total_tokens, cost_nano_usd, stream, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#flushMs = flushMs;
  }

  record(row: UsageRow): void {
    this.#queue.push(row);
    if (!this.#timer) { this.#timer = setTimeout(() => this.flush(), this.#flushMs); this.#timer.unref(); }
  }

  flush(): void {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null; }
    if (this.#queue.length === 0) return;
    const rows = this.#queue;
    this.#queue = [];
    this.#db.exec('BEGIN');
    try {
      for (const r of rows) {
        this.#insert.run(r.requestId, r.ts, r.tenantId, r.consumerId, r.credentialId, r.model, r.provider, r.providerModel, r.endpoint,
          r.promptTokens, r.completionTokens, r.promptTokens + r.completionTokens, r.costNano, r.stream ? 1 : 0, r.complete ? 1 : 0);
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Tokens and nano-USD already recorded for one subject in [from, to), optionally for some models only. */
  usedSince(column: 'credential_id' | 'consumer_id' | 'tenant_id', subject: string, from: number, to: number, models: readonly string[] | null): { tokens: number; nano: number } {
    this.flush();
    const modelFilter = models ? ` AND model IN (${models.map(() => '?').join(', ')})` : '';
    const row = this.#db.prepare(`SELECT COALESCE(SUM(total_tokens), 0) AS tokens, COALESCE(SUM(cost_nano_usd), 0) AS nano FROM ai_usage WHERE ${column} = ? AND ts >= ? AND ts < ?${modelFilter}`)
      .get(subject, from, to, ...(models ?? [])) as { tokens: number; nano: number };
    return { tokens: Number(row.tokens), nano: Number(row.nano) };
  }
}
