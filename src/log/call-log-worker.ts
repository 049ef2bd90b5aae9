import { parentPort, workerData } from 'node:worker_threads';
import { CallLogStore, parseCallLines } from '../store/sqlite/call-log-store.ts';
import { openDatabase } from '../store/sqlite/database.ts';

// Owns the SQLite connection for the call log, so inserts and fsyncs never block the
// event loop that serves requests. Rows arrive serialized: the worker only inserts.

export type WorkerMessage =
  | { readonly type: 'batch'; readonly bytes: Uint8Array; readonly count: number; readonly dropped: number }
  | { readonly type: 'flush'; readonly id: number }
  | { readonly type: 'close' };

export type WorkerReply =
  | { readonly type: 'ack'; readonly count: number; readonly error?: string }
  | { readonly type: 'flushed'; readonly id: number };

const { file, retentionMs } = workerData as { file: string; retentionMs: number };
const db = openDatabase(file);
const store = new CallLogStore(db);
let lastDropped = -1;
const decoder = new TextDecoder();
let lastPrune = 0;

parentPort!.on('message', (msg: WorkerMessage) => {
  if (msg.type === 'batch') {
    let error: string | undefined;
    try {
      if (msg.count > 0) store.insertBatch(parseCallLines(decoder.decode(msg.bytes)));
      if (msg.dropped !== lastDropped) {
        store.setStat('dropped_records', msg.dropped, Date.now());
        lastDropped = msg.dropped;
      }
      const now = Date.now();
      if (retentionMs > 0 && now - lastPrune > 60_000) {
        lastPrune = now;
        store.deleteOlderThan(now - retentionMs);
      }
    } catch (err) {
      error = (err as Error).message;
    }
    parentPort!.postMessage({ type: 'ack', count: msg.count, ...(error ? { error } : {}) } satisfies WorkerReply);
  } else if (msg.type === 'flush') {
    parentPort!.postMessage({ type: 'flushed', id: msg.id } satisfies WorkerReply);
  } else {
    db.close();
    parentPort!.close();
  }
});
