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

export function openDatabase(file: string, options: { readOnly?: boolean } = {}): DatabaseSync {
  if (!options.readOnly) mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { readOnly: options.readOnly ?? false });
  db.exec('PRAGMA busy_timeout = 5000');
  if (options.readOnly) return db;
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  for (let v = current; v < migrations.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migrations[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
  return db;
}
