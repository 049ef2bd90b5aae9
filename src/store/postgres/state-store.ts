import type pg from 'pg';
import type { EntityKind, EntityTypes, Stored } from '../../tenancy/model.ts';
import { tenantOf, emptyMaps, type StateMaps } from '../../tenancy/state.ts';
import { consumerLookup, StateConflictError, type Actor, type ConsumerRow, type AuditEntry, type AuditFilter, type CommitRequest, type StateStore, type VersionInfo } from '../state-store.ts';
import { createPool, ensureDatabase, inTransaction, LOCK_STATE_VERSION, migrate, withDefaultUser } from './database.ts';

/** Notified (in the same transaction as the commit) with the new state version's number. */
export const STATE_CHANNEL = 'pinpoint_state';

interface ChangeRow {
  version: number; kind: string; id: string; tenant: string; action: string; before: string | null; after: string | null;
  before_version: number; at: number; actor: string; actor_role: string; summary: string;
}
interface VersionRow { version: number; at: number; actor: string; actor_role: string; summary: string }

/**
 * The tenancy state shared by every node of a cluster: the same tables and semantics as
 * sqlite/state-store.ts, in the PostgreSQL database of the call log (migration 2). Version
 * numbers are taken under an advisory lock (no gaps, no duplicates across nodes), and the
 * commit's transaction sends NOTIFY pinpoint_state so other nodes reload within milliseconds.
 */
export class PostgresStateStore implements StateStore {
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;

  /** On a pool opened (and migrated) by PostgresStore: the gateway's 5-connection budget is kept. */
  constructor(pool: pg.Pool, options: { ownsPool?: boolean } = {}) {
    this.pool = pool;
    this.ownsPool = options.ownsPool ?? false;
  }

  /** A store with a pool of its own: creates the database if missing and applies migrations. */
  static async open(given: string): Promise<PostgresStateStore> {
    const url = withDefaultUser(given);
    await ensureDatabase(url);
    const pool = createPool(url);
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresStateStore(pool, { ownsPool: true });
  }

  loadCurrent(): Promise<{ version: number; at: number; entities: Stored[] }> {
    // One snapshot: entities and the latest version read in the same transaction.
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ kind: EntityKind; id: string; tenant: string; version: number; data: string }>('SELECT kind, id, tenant, version, data FROM state_entities');
      const last = (await client.query<{ version: number; at: number }>('SELECT version, at FROM state_versions ORDER BY version DESC LIMIT 1')).rows[0];
      return {
        version: last?.version ?? 0, at: last?.at ?? 0,
        entities: rows.map((r) => ({ kind: r.kind, id: r.id, tenant: r.tenant, version: r.version, data: JSON.parse(r.data) as EntityTypes[EntityKind] })),
      };
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async latestVersion(): Promise<number> {
    const { rows } = await this.pool.query<{ v: number | null }>('SELECT max(version) AS v FROM state_versions');
    return rows[0]?.v ?? 0;
  }

  commit(request: CommitRequest): Promise<VersionInfo> {
    return inTransaction(this.pool, async (client) => {
      // Serializes commits across nodes (released at commit): the conflict check below then
      // compares with data no other transaction can change meanwhile.
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_STATE_VERSION]);
      const last = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM state_versions')).rows[0];
      const version = (last?.v ?? 0) + 1;
      await client.query('INSERT INTO state_versions (version, at, actor, actor_role, summary) VALUES ($1, $2, $3, $4, $5)', [version, request.now, request.actor.id, request.actor.role, request.summary]);
      const lookup = await this.tenantLookup(client, request.changes);
      for (const [seq, c] of request.changes.entries()) {
        const current = (await client.query<{ data: string; version: number }>('SELECT data, version FROM state_entities WHERE kind = $1 AND id = $2', [c.kind, c.id])).rows[0];
        const beforeJson = c.before === null ? null : JSON.stringify(c.before);
        if ((current?.data ?? null) !== beforeJson) throw new StateConflictError(c.kind, c.id);
        const data = c.after ?? c.before!;
        const tenant = tenantOf(c.kind, data, lookup);
        if (c.after === null) await client.query('DELETE FROM state_entities WHERE kind = $1 AND id = $2', [c.kind, c.id]);
        else await client.query('INSERT INTO state_entities (kind, id, tenant, version, data) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, id) DO UPDATE SET tenant = excluded.tenant, version = excluded.version, data = excluded.data', [c.kind, c.id, tenant, version, JSON.stringify(c.after)]);
        const action = c.before === null ? 'create' : c.after === null ? 'delete' : 'update';
        await client.query('INSERT INTO state_changes (version, seq, kind, id, tenant, action, before, after, before_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
          [version, seq, c.kind, c.id, tenant, action, beforeJson, c.after === null ? null : JSON.stringify(c.after), current?.version ?? 0]);
      }
      // Delivered to listeners when (and only if) this transaction commits.
      await client.query('SELECT pg_notify($1, $2)', [STATE_CHANNEL, String(version)]);
      return { version, at: request.now, actor: request.actor, summary: request.summary };
    });
  }

  /** Consumers' tenants, from the store and from the change set itself. */
  private async tenantLookup(client: pg.PoolClient, changes: CommitRequest['changes']): Promise<StateMaps> {
    if (!changes.some((c) => c.kind !== 'tenant' && c.kind !== 'consumer')) return emptyMaps();
    const { rows } = await client.query<ConsumerRow>("SELECT id, tenant, version, data FROM state_entities WHERE kind = 'consumer'");
    return consumerLookup(rows, changes);
  }

  async audit(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const arg = (v: string | number) => { args.push(v); return `$${args.length}`; };
    if (filter.tenant !== undefined) where.push(`c.tenant = ${arg(filter.tenant)}`);
    if (filter.kind !== undefined) where.push(`c.kind = ${arg(filter.kind)}`);
    if (filter.id !== undefined) where.push(`c.id = ${arg(filter.id)}`);
    if (filter.afterVersion !== undefined) where.push(`c.version > ${arg(filter.afterVersion)}`);
    const order = filter.afterVersion !== undefined ? 'ASC' : 'DESC';
    const limit = arg(filter.limit ?? 100);
    const { rows } = await this.pool.query<ChangeRow>(`SELECT c.version, c.kind, c.id, c.tenant, c.action, c.before, c.after, c.before_version, v.at, v.actor, v.actor_role, v.summary
      FROM state_changes c JOIN state_versions v ON v.version = c.version
      ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY c.version ${order}, c.seq ${order} LIMIT ${limit}`, args);
    return rows.map((r) => ({
      version: r.version, at: r.at, actor: { id: r.actor, role: r.actor_role }, summary: r.summary,
      kind: r.kind as EntityKind, id: r.id, tenant: r.tenant, action: r.action as AuditEntry['action'],
      before: r.before === null ? null : JSON.parse(r.before), after: r.after === null ? null : JSON.parse(r.after), beforeVersion: r.before_version,
    }));
  }

  async version(version: number): Promise<VersionInfo | null> {
    const { rows } = await this.pool.query<VersionRow>('SELECT version, at, actor, actor_role, summary FROM state_versions WHERE version = $1', [version]);
    return rows[0] ? toVersion(rows[0]) : null;
  }

  async versionsAfter(version: number, limit: number): Promise<VersionInfo[]> {
    const { rows } = await this.pool.query<VersionRow>('SELECT version, at, actor, actor_role, summary FROM state_versions WHERE version > $1 ORDER BY version ASC LIMIT $2', [version, limit]);
    return rows.map(toVersion);
  }

  async getMeta(name: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM state_meta WHERE name = $1', [name]);
    return rows[0]?.value ?? null;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.pool.query('INSERT INTO state_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  /** `--reset`: forgets the whole tenancy state (the next seed starts again at version 1). */
  reset(): Promise<void> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_STATE_VERSION]);
      await client.query('TRUNCATE state_entities, state_versions, state_changes, state_meta');
      await client.query('SELECT pg_notify($1, $2)', [STATE_CHANNEL, '0']);
    });
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}

function toVersion(r: VersionRow): VersionInfo {
  const actor: Actor = { id: r.actor, role: r.actor_role };
  return { version: r.version, at: r.at, actor, summary: r.summary };
}
