import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import { openDatabase } from './database.ts';
import type { QueryReply } from './query-runner.ts';

// Runs the analytics' read queries on a read-only connection of its own (WAL: it sees every
// committed batch of the call-log writer and never blocks it), off the serving thread.

const { file } = workerData as { file: string };
let db: DatabaseSync | null = null;

parentPort!.on('message', (msg: { id: number; sql: string; params: (string | number | null)[] }) => {
  let reply: QueryReply;
  try {
    db ??= openDatabase(file, { readOnly: true });
    reply = { id: msg.id, rows: (db.prepare(msg.sql).all(...msg.params) as object[]).map((r) => ({ ...r })) };
  } catch (err) {
    // db stays null when the open failed, so the next query tries again (the file may not exist yet).
    reply = { id: msg.id, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
