import type { DatabaseSync } from 'node:sqlite';

export interface ConfigVersionRow {
  readonly version: number;
  readonly hash: string;
  readonly file: string;
  readonly loadedAt: number;
  readonly text: string;
}

/** Same text as the latest version: same version number. Otherwise the next number. */
export function recordConfigVersion(db: DatabaseSync, hash: string, file: string, text: string, now: number): number {
  // Several worker processes may record the same file at once: the read and the insert
  // are one write transaction, so they agree on the number instead of colliding.
  if (db.isTransaction) return recordInTransaction(db, hash, file, text, now);
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = recordInTransaction(db, hash, file, text, now);
    db.exec('COMMIT');
    return version;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

function recordInTransaction(db: DatabaseSync, hash: string, file: string, text: string, now: number): number {
  const last = db.prepare('SELECT version, hash FROM config_versions ORDER BY version DESC LIMIT 1').get() as { version: number; hash: string } | undefined;
  if (last && last.hash === hash) return last.version;
  const version = (last?.version ?? 0) + 1;
  db.prepare('INSERT INTO config_versions (version, hash, file, loaded_at, text) VALUES (?, ?, ?, ?, ?)').run(version, hash, file, now, text);
  return version;
}

export function getConfigVersion(db: DatabaseSync, version: number): ConfigVersionRow | null {
  const row = db.prepare('SELECT version, hash, file, loaded_at AS loadedAt, text FROM config_versions WHERE version = ?').get(version) as ConfigVersionRow | undefined;
  return row ?? null;
}

export function latestConfigVersion(db: DatabaseSync): ConfigVersionRow | null {
  const row = db.prepare('SELECT version, hash, file, loaded_at AS loadedAt, text FROM config_versions ORDER BY version DESC LIMIT 1').get() as ConfigVersionRow | undefined;
  return row ?? null;
}
