import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { Query } from '../call-log-sql.ts';

// Where the call-log analytics' SQL runs. node:sqlite is synchronous: an alert rule or a
// chart over a busy hour scans 10^5 rows (~0.6 s), which on the serving thread would stall
// every request for as long. So a running node reads through a worker thread of its own;
// the CLI and the tests, which serve nothing, read inline.

export interface QueryRunner {
  all<T>(q: Query): Promise<T[]>;
  close(): Promise<void>;
}

// node:sqlite rows have a null prototype: copied, they compare and serialize like any object.
const rows = <T>(db: DatabaseSync, q: Query): T[] => (db.prepare(q.sql).all(...q.params) as object[]).map((r) => ({ ...r }) as T);

export function inlineQueries(db: DatabaseSync): QueryRunner {
  return { all: async <T>(q: Query) => rows<T>(db, q), close: async () => {} };
}

export type QueryReply = { readonly id: number; readonly rows?: object[]; readonly error?: string };

/** A read-only connection to the file in a worker thread, started on the first query. */
export class WorkerQueries implements QueryRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (rows: object[]) => void; reject: (err: Error) => void }>();
  private readonly file: string;
  constructor(file: string) { this.file = file; }

  all<T>(q: Query): Promise<T[]> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise<T[]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (rows: object[]) => void, reject });
      // Held while a query is out, so a one-shot script waits for its answer; idle, it never keeps the process up.
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, sql: q.sql, params: q.params });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./query-worker.ts', import.meta.url), { workerData: { file: this.file } });
    w.unref();
    w.on('message', (reply: QueryReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) w.unref();
      if (reply.error !== undefined) p.reject(new Error(reply.error)); else p.resolve(reply.rows ?? []);
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.worker = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => { if (this.worker === w) fail(new Error(`the call-log query worker exited (${code})`)); });
    this.worker = w;
    return w;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
    for (const p of this.pending.values()) p.reject(new Error('the call-log query worker was closed'));
    this.pending.clear();
  }
}
