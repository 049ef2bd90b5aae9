import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

// Schema migrations, applied in order at open; PRAGMA user_version records the last one.
const migrations: readonly string[] = [
  // Rows arrive in time order, so rowid order is time order: no index on ts, one b-tree
  // fewer to update per request. request_id is a UUIDv7, so its index grows at the end too.
  `CREATE TABLE calls (
     request_id TEXT NOT NULL UNIQUE,
     ts INTEGER NOT NULL,
     config_version INTEGER NOT NULL,
     route_id TEXT,
     method TEXT NOT NULL,
     path TEXT NOT NULL,
     status INTEGER NOT NULL,
     code TEXT,
     answered_by TEXT NOT NULL,
     consumer_id TEXT,
     credential_id TEXT,
     client_ip TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     trace TEXT NOT NULL
   );
   CREATE INDEX calls_code_ts ON calls(code, ts) WHERE code IS NOT NULL;
   CREATE TABLE config_versions (
     version INTEGER PRIMARY KEY,
     hash TEXT NOT NULL,
     file TEXT NOT NULL,
     loaded_at INTEGER NOT NULL,
     text TEXT NOT NULL
   );
   CREATE TABLE log_stats (
     name TEXT PRIMARY KEY,
     value INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
];

/** The page size of data files created from now on; an existing file keeps the one it was made with. */
export const NEW_FILE_PAGE_SIZE = 16_384;
/** WAL bytes between automatic checkpoints: SQLite's default (1000 pages) at its default 4 KiB page. */
export const WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024;
/** What a WAL that grew past this (a checkpoint held back by a reader) is truncated back to once checkpointed. */
export const WAL_SIZE_LIMIT = 8 * 1024 * 1024;

/**
 * Settings every writable connection to a data file applies before anything else.
 * A call-log row is ~1-2 KB: with 4 KiB pages a batch of 512 rows was ~250 WAL frames
 * (two pwrite calls each, then the checkpoint's writes); 16 KiB pages write the same bytes
 * in about a quarter of the calls (bench/call-log.ts). page_size cannot change once a file
 * is in WAL mode (that needs a VACUUM outside WAL), so only a file without pages takes it:
 * existing files keep theirs and keep working.
 */
export function prepareWritableDatabase(db: DatabaseSync): void {
  db.exec('PRAGMA busy_timeout = 5000');
  const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
  if (pages === 0) db.exec(`PRAGMA page_size = ${NEW_FILE_PAGE_SIZE}`);
  // Switching a new file to WAL answers "database is locked" at once, without the busy
  // handler, while another process (--workers N starting together) does the same.
  whileBusy(() => db.exec('PRAGMA journal_mode = WAL'));
  // The checkpoint interval is counted in pages: kept in bytes, so 16 KiB pages do not make
  // the WAL four times larger than before, nor 4 KiB pages of an old file checkpoint more often.
  // Both settings belong to the connection, not the file, hence set on each.
  const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(1, Math.round(WAL_CHECKPOINT_BYTES / pageSize))}`);
  db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT}`);
}

/** A connection to a data file: read-only as it is, or writable (its directory made, prepareWritableDatabase applied). */
export function openConnection(file: string, options: { readOnly?: boolean } = {}): DatabaseSync {
  if (!options.readOnly) mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { readOnly: options.readOnly ?? false });
  if (options.readOnly) db.exec('PRAGMA busy_timeout = 5000');
  else prepareWritableDatabase(db);
  return db;
}

export function openDatabase(file: string, options: { readOnly?: boolean } = {}): DatabaseSync {
  const db = openConnection(file, options);
  if (options.readOnly) return db;
  db.exec('PRAGMA synchronous = NORMAL');
  // The version is read inside the write transaction: processes opening a new file together
  // would otherwise each apply the same migration (and fail on "table already exists").
  for (;;) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const v = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (v >= migrations.length) { db.exec('COMMIT'); return db; }
      db.exec(migrations[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Runs `step` again while SQLite answers SQLITE_BUSY, for up to 5 s (start-up only: it blocks). */
function whileBusy(step: () => void): void {
  const until = Date.now() + 5000;
  for (;;) {
    try { step(); return; } catch (err) {
      if ((err as { errcode?: number }).errcode !== 5 || Date.now() > until) throw err;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
