import type { DatabaseSync } from 'node:sqlite';
import type { TraceRecord } from '../../log/trace.ts';
import type { Store, StoreLocation } from '../store.ts';
import { CallLogStore, findTrace, readStats, recentTraces, type CallRow } from './call-log-store.ts';
import { getConfigVersion, latestConfigVersion, recordConfigVersion, type ConfigVersionRow } from './config-versions.ts';
import { openDatabase } from './database.ts';
import { SqliteAlertState } from './alert-state.ts';
import { SqliteCallLogReader } from './call-log-reader.ts';
import type { AlertStateStore } from '../alert-state.ts';
import type { CallLogReader } from '../call-log-reader.ts';

/** The embedded store behind the Store interface: synchronous SQLite calls, resolved at once. */
export class SqliteStore implements Store {
  readonly location: StoreLocation;
  readonly db: DatabaseSync;
  private calls: CallLogStore | null = null;
  private alertState: SqliteAlertState | null = null;
  readonly log: CallLogReader;

  constructor(file: string, options: { readOnly?: boolean } = {}) {
    this.location = { kind: 'sqlite', file };
    this.db = openDatabase(file, options);
    this.log = new SqliteCallLogReader(this.db);
  }

  // Lazy: creating its tables needs a writable file, and read-only handles (CLI) never use it.
  get alerts(): AlertStateStore { return (this.alertState ??= new SqliteAlertState(this.db)); }

  async insertBatch(rows: readonly CallRow[]): Promise<void> {
    this.calls ??= new CallLogStore(this.db);
    this.calls.insertBatch(rows);
  }

  async findTrace(requestId: string): Promise<TraceRecord | null> { return findTrace(this.db, requestId); }
  async recentTraces(limit: number): Promise<TraceRecord[]> { return recentTraces(this.db, limit); }

  async deleteOlderThan(before: number, limit?: number): Promise<number> {
    this.calls ??= new CallLogStore(this.db);
    return this.calls.deleteOlderThan(before, limit);
  }

  async setStat(name: string, value: number, now: number): Promise<void> {
    this.calls ??= new CallLogStore(this.db);
    this.calls.setStat(name, value, now);
  }

  async readStats(): Promise<Record<string, number>> { return readStats(this.db); }

  async recordConfigVersion(hash: string, file: string, text: string, now: number): Promise<number> {
    return recordConfigVersion(this.db, hash, file, text, now);
  }

  // node:sqlite rows have a null prototype: copied, they compare and serialize like any object.
  async getConfigVersion(version: number): Promise<ConfigVersionRow | null> { const r = getConfigVersion(this.db, version); return r && { ...r }; }
  async latestConfigVersion(): Promise<ConfigVersionRow | null> { const r = latestConfigVersion(this.db); return r && { ...r }; }

  async reset(): Promise<void> {
    const exists = (t: string) => this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
    const optional = ['calls_rollup', 'alert_state', 'alert_notifications'].filter(exists).map((t) => `DELETE FROM ${t};`).join(' ');
    this.db.exec(`BEGIN IMMEDIATE; DELETE FROM calls; DELETE FROM config_versions; DELETE FROM log_stats; ${optional} COMMIT`);
  }

  async close(): Promise<void> { this.db.close(); }
}
