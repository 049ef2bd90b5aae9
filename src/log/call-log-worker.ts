import { parentPort, workerData } from 'node:worker_threads';
import { parseCallLines } from '../store/sqlite/call-log-store.ts';
import { openStore } from '../store/open-store.ts';
import type { Store, StoreLocation } from '../store/store.ts';

// Owns the store connection for the call log (a SQLite file or a PostgreSQL pool), so
// inserts, fsyncs and round trips never block the event loop that serves requests. Rows
// arrive serialized: the worker only inserts. Messages are handled one after the other,
// so a flush is answered only once every batch before it is stored.

export type WorkerMessage =
  | { readonly type: 'batch'; readonly bytes: Uint8Array; readonly count: number; readonly dropped: number }
  | { readonly type: 'flush'; readonly id: number }
  | { readonly type: 'close' };

export type WorkerReply =
  | { readonly type: 'ack'; readonly count: number; readonly error?: string; readonly note?: string }
  | { readonly type: 'flushed'; readonly id: number };

const data = workerData as { file?: string; location?: StoreLocation; retentionMs: number };
const location: StoreLocation = data.location ?? { kind: 'sqlite', file: data.file! };
const { retentionMs } = data;
// Opened on first use and again after a failure: a store that is down when the gateway
// starts (or restarts under it) is picked up as soon as it answers.
let opened: Promise<Store> | null = null;
const store = (): Promise<Store> => (opened ??= openStore(location).catch((err: unknown) => { opened = null; throw err; }));
// Opened at start too, so the node's files are open before its first request (a failure here is retried on the first batch).
void store().catch(() => undefined);
let lastDropped = -1;
const decoder = new TextDecoder();
let lastPrune = 0;
let queue: Promise<void> = Promise.resolve();

async function handle(msg: WorkerMessage): Promise<void> {
  if (msg.type === 'batch') {
    let error: string | undefined;
    let note: string | undefined;
    let s: Store | undefined;
    try {
      s = await store();
      if (msg.count > 0) await s.insertBatch(parseCallLines(decoder.decode(msg.bytes)));
    } catch (err) {
      error = (err as Error).message;
    }
    // Bookkeeping after the insert: its failure (e.g. a full disk) must not count committed records as lost.
    if (s && !error) {
      try {
        if (msg.dropped !== lastDropped) {
          await s.setStat('dropped_records', msg.dropped, Date.now());
          lastDropped = msg.dropped;
        }
        const now = Date.now();
        if (retentionMs > 0 && now - lastPrune > 60_000) {
          lastPrune = now;
          await s.deleteOlderThan(now - retentionMs);
        }
      } catch (err) {
        note = `call log bookkeeping failed (the records were stored): ${(err as Error).message}`;
      }
    }
    parentPort!.postMessage({ type: 'ack', count: msg.count, ...(error ? { error } : {}), ...(note ? { note } : {}) } satisfies WorkerReply);
  } else if (msg.type === 'flush') {
    parentPort!.postMessage({ type: 'flushed', id: msg.id } satisfies WorkerReply);
  } else {
    await opened?.then((s) => s.close(), () => undefined);
    parentPort!.close();
  }
}

parentPort!.on('message', (msg: WorkerMessage) => {
  queue = queue.then(() => handle(msg));
});
