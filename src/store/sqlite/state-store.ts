import type { DatabaseSync } from 'node:sqlite';
import { openConnection } from './database.ts';
import type { EntityKind, EntityTypes, Stored } from '../../tenancy/model.ts';
import { tenantOf, type StateMaps } from '../../tenancy/state.ts';
import { consumerLookup, StateConflictError, type Actor, type ConsumerRow, type AuditEntry, type AuditFilter, type CommitRequest, type StateStore, type VersionInfo } from '../state-store.ts';

// Tables of its own (created if missing) in the gateway's SQLite file, so `--data-dir` holds
// everything and the call log's migrations stay untouched.
const schema = `
  CREATE TABLE IF NOT EXISTS state_entities (
    kind TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
  );
  CREATE TABLE IF NOT EXISTS state_versions (
    version INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, actor_role TEXT NOT NULL, summary TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS state_changes (
    version INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL,
    action TEXT NOT NULL, before TEXT, after TEXT, before_version INTEGER NOT NULL,
    PRIMARY KEY (version, seq)
  );
  CREATE INDEX IF NOT EXISTS state_changes_tenant ON state_changes(tenant, version);
  CREATE TABLE IF NOT EXISTS state_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface ChangeRow {
  version: number; kind: string; id: string; tenant: string; action: string; before: string | null; after: string | null;
  before_version: number; at: number; actor: string; actor_role: string; summary: string;
}

export class SqliteStateStore implements StateStore {
  private readonly db: DatabaseSync;

  constructor(file: string, options: { readOnly?: boolean } = {}) {
    // It shares the data file with the call log and may be the one that creates it.
    this.db = openConnection(file, options);
    if (!options.readOnly) this.db.exec(schema);
  }

  /** A read-only store opened on a database that never had a state store (an old data dir) has no tables. */
  private hasTables(): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'state_versions'").get() !== undefined;
  }

  async loadCurrent(): Promise<{ version: number; at: number; entities: Stored[] }> {
    if (!this.hasTables()) return { version: 0, at: 0, entities: [] };
    const rows = this.db.prepare('SELECT kind, id, tenant, version, data FROM state_entities').all() as { kind: EntityKind; id: string; tenant: string; version: number; data: string }[];
    const last = this.db.prepare('SELECT version, at FROM state_versions ORDER BY version DESC LIMIT 1').get() as { version: number; at: number } | undefined;
    return {
      version: last?.version ?? 0, at: last?.at ?? 0,
      entities: rows.map((r) => ({ kind: r.kind, id: r.id, tenant: r.tenant, version: r.version, data: JSON.parse(r.data) as EntityTypes[EntityKind] })),
    };
  }

  async latestVersion(): Promise<number> {
    if (!this.hasTables()) return 0;
    const row = this.db.prepare('SELECT MAX(version) AS v FROM state_versions').get() as { v: number | null };
    return row.v ?? 0;
  }

  async commit(request: CommitRequest): Promise<VersionInfo> {
    const db = this.db;
    db.exec('BEGIN IMMEDIATE');
    try {
      const last = db.prepare('SELECT MAX(version) AS v FROM state_versions').get() as { v: number | null };
      const version = (last.v ?? 0) + 1;
      db.prepare('INSERT INTO state_versions (version, at, actor, actor_role, summary) VALUES (?, ?, ?, ?, ?)').run(version, request.now, request.actor.id, request.actor.role, request.summary);
      const get = db.prepare('SELECT data, version FROM state_entities WHERE kind = ? AND id = ?');
      const put = db.prepare('INSERT INTO state_entities (kind, id, tenant, version, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET tenant = excluded.tenant, version = excluded.version, data = excluded.data');
      const del = db.prepare('DELETE FROM state_entities WHERE kind = ? AND id = ?');
      const log = db.prepare('INSERT INTO state_changes (version, seq, kind, id, tenant, action, before, after, before_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      // Tenants of keys and subscriptions come from their consumer: resolve against the
      // state as it will be once the earlier changes of this set are applied.
      const lookup = this.tenantLookup(request.changes);
      request.changes.forEach((c, seq) => {
        const current = get.get(c.kind, c.id) as { data: string; version: number } | undefined;
        const beforeJson = c.before === null ? null : JSON.stringify(c.before);
        if ((current?.data ?? null) !== beforeJson) throw new StateConflictError(c.kind, c.id);
        const data = c.after ?? c.before!;
        const tenant = tenantOf(c.kind, data, lookup);
        if (c.after === null) del.run(c.kind, c.id);
        else put.run(c.kind, c.id, tenant, version, JSON.stringify(c.after));
        const action = c.before === null ? 'create' : c.after === null ? 'delete' : 'update';
        log.run(version, seq, c.kind, c.id, tenant, action, beforeJson, c.after === null ? null : JSON.stringify(c.after), current?.version ?? 0);
      });
      db.exec('COMMIT');
      return { version, at: request.now, actor: request.actor, summary: request.summary };
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Consumers' tenants, from the store and from the change set itself. */
  private tenantLookup(changes: CommitRequest['changes']): StateMaps {
    const rows = this.db.prepare("SELECT id, tenant, version, data FROM state_entities WHERE kind = 'consumer'").all() as unknown as ConsumerRow[];
    return consumerLookup(rows, changes);
  }

  async audit(filter: AuditFilter): Promise<AuditEntry[]> {
    if (!this.hasTables()) return [];
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.tenant !== undefined) { where.push('c.tenant = ?'); args.push(filter.tenant); }
    if (filter.kind !== undefined) { where.push('c.kind = ?'); args.push(filter.kind); }
    if (filter.id !== undefined) { where.push('c.id = ?'); args.push(filter.id); }
    if (filter.afterVersion !== undefined) { where.push('c.version > ?'); args.push(filter.afterVersion); }
    const order = filter.afterVersion !== undefined ? 'ASC' : 'DESC';
    args.push(filter.limit ?? 100);
    const rows = this.db.prepare(`SELECT c.version, c.kind, c.id, c.tenant, c.action, c.before, c.after, c.before_version, v.at, v.actor, v.actor_role, v.summary
      FROM state_changes c JOIN state_versions v ON v.version = c.version
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY c.version ${order}, c.seq ${order} LIMIT ?`).all(...args) as unknown as ChangeRow[];
    return rows.map((r) => ({
      version: r.version, at: r.at, actor: { id: r.actor, role: r.actor_role }, summary: r.summary,
      kind: r.kind as EntityKind, id: r.id, tenant: r.tenant, action: r.action as AuditEntry['action'],
      before: r.before === null ? null : JSON.parse(r.before), after: r.after === null ? null : JSON.parse(r.after), beforeVersion: r.before_version,
    }));
  }

  async version(version: number): Promise<VersionInfo | null> {
    if (!this.hasTables()) return null;
    const r = this.db.prepare('SELECT version, at, actor, actor_role, summary FROM state_versions WHERE version = ?').get(version) as { version: number; at: number; actor: string; actor_role: string; summary: string } | undefined;
    return r ? toVersion(r) : null;
  }

  async versionsAfter(version: number, limit: number): Promise<VersionInfo[]> {
    if (!this.hasTables()) return [];
    const rows = this.db.prepare('SELECT version, at, actor, actor_role, summary FROM state_versions WHERE version > ? ORDER BY version ASC LIMIT ?').all(version, limit) as { version: number; at: number; actor: string; actor_role: string; summary: string }[];
    return rows.map(toVersion);
  }

  async getMeta(name: string): Promise<string | null> {
    if (!this.hasTables()) return null;
    const r = this.db.prepare('SELECT value FROM state_meta WHERE name = ?').get(name) as { value: string } | undefined;
    return r?.value ?? null;
  }

  async setMeta(name: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO state_meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value').run(name, value);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function toVersion(r: { version: number; at: number; actor: string; actor_role: string; summary: string }): VersionInfo {
  const actor: Actor = { id: r.actor, role: r.actor_role };
  return { version: r.version, at: r.at, actor, summary: r.summary };
}
