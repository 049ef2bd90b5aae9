import { channel } from 'node:diagnostics_channel';
import { Worker } from 'node:worker_threads';
import type { WorkerMessage, WorkerReply } from './call-log-worker.ts';
import { CallBatch, type EncodedBatch } from './call-batch.ts';
import type { StoreLocation } from '../store/store.ts';
import type { TraceRecord } from './trace.ts';

/** Every decision is published here too; metrics and tests subscribe without coupling. */
export const decisionChannel = channel('pinpoint:decision');

export interface CallLogStats {
  written: number;
  dropped: number;
  failed: number;
  pending: number;
}

/**
 * Batches trace records and hands them to the log worker. When the worker falls behind
 * by more than `maxPending` records, new records are dropped and counted (visible in the
 * stats, the store and the shutdown line), never silently lost and never blocking requests.
 */
export class CallLogWriter {
  private readonly worker: Worker;
  private readonly batch = new CallBatch();
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushSeq = 0;
  private readonly flushWaiters = new Map<number, () => void>();
  readonly stats: CallLogStats = { written: 0, dropped: 0, failed: 0, pending: 0 };
  private readonly onError: (message: string) => void;
  private readonly maxPending: number;
  private readonly intervalMs: number;
  private closed = false;

  /** `file`: the SQLite file of the call log, or any store location (PostgreSQL). */
  constructor(file: string | StoreLocation, options: { maxPending: number; flushIntervalMs: number; retentionHours: number; onError: (message: string) => void }) {
    this.maxPending = options.maxPending;
    this.intervalMs = options.flushIntervalMs;
    this.onError = options.onError;
    this.worker = new Worker(new URL('./call-log-worker.ts', import.meta.url), { workerData: { location: typeof file === 'string' ? { kind: 'sqlite', file } : file, retentionMs: options.retentionHours * 3600_000 } });
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'ack') {
        this.inflight -= reply.count;
        if (reply.error) { this.stats.failed += reply.count; this.onError(`call log write failed, ${reply.count} records lost: ${reply.error}`); }
        else this.stats.written += reply.count;
        if (reply.note) this.onError(reply.note);
      } else {
        this.flushWaiters.get(reply.id)?.();
        this.flushWaiters.delete(reply.id);
      }
    });
    this.worker.on('error', (err) => this.onError(`call log worker crashed: ${err.message}`));
  }

  write(record: TraceRecord): void {
    if (decisionChannel.hasSubscribers) decisionChannel.publish(record);
    if (this.closed || this.batch.count + this.inflight >= this.maxPending) {
      this.stats.dropped++;
      return;
    }
    const full = this.batch.append(record);
    if (full) this.post(full);
    if (this.batch.count >= 512) this.send();
    else this.timer ??= setTimeout(() => this.send(), this.intervalMs);
  }

  private send(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const batch = this.batch.take();
    if (batch) this.post(batch);
  }

  private post({ bytes, count }: EncodedBatch): void {
    this.inflight += count;
    // Transferred: the worker receives the bytes without a copy.
    this.worker.postMessage({ type: 'batch', bytes, count, dropped: this.stats.dropped } satisfies WorkerMessage, [bytes.buffer]);
  }

  get pending(): number { return this.batch.count + this.inflight; }

  /** Resolves when everything written so far is in the store. */
  flush(): Promise<void> {
    this.send();
    // Keep the process alive until the worker answers: the worker is unref'd otherwise.
    this.worker.ref();
    const id = ++this.flushSeq;
    return new Promise((resolve) => {
      this.flushWaiters.set(id, () => { if (this.flushWaiters.size === 1 && !this.closed) this.worker.unref(); resolve(); });
      this.worker.postMessage({ type: 'flush', id } satisfies WorkerMessage);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.worker.ref();
    // The final count of drops reaches the store even if no record followed them.
    this.worker.postMessage({ type: 'batch', bytes: new Uint8Array(0), count: 0, dropped: this.stats.dropped } satisfies WorkerMessage);
    this.worker.postMessage({ type: 'close' } satisfies WorkerMessage);
    await new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }
}
