import type { EntityKind, EntityTypes, Stored } from '../tenancy/model.ts';
import { emptyMaps, type Change, type StateMaps } from '../tenancy/state.ts';

// The state store: the source of truth for tenants, consumers, keys, APIs, policies,
// subscriptions and resource owners. Every commit creates one new state version and one
// audit entry per changed entity. The gateway never reads it per request: it compiles the
// state into in-memory indexes at each new version (see src/tenancy/runtime.ts).
//
// Implementations: sqlite/state-store.ts (node:sqlite) and postgres/state-store.ts (shared by
// the nodes of a cluster); both pass test/admin/state-store.test.ts, which keeps this contract:
// - versions are consecutive integers starting at 1, one per successful commit;
// - commit is atomic: all changes or none; it fails with StateConflictError when an entity's
//   current data is not the change's `before` (optimistic concurrency between admins/instances);
// - `before`/`after` are stored as given (they never contain a plain secret: keys hold hashes);
//   the audit read path redacts hashes.
// Methods are async so that a network database fits; node:sqlite answers synchronously.

export interface Actor {
  /** Admin token id, `config:<file>` for the YAML seed, or `cli`. */
  readonly id: string;
  readonly role: string;
}

export interface CommitRequest {
  readonly actor: Actor;
  /** Short human description, e.g. "approve subscription acme-newapp/orders". */
  readonly summary: string;
  readonly changes: readonly Change[];
  readonly now: number;
}

export interface VersionInfo {
  readonly version: number;
  readonly at: number;
  readonly actor: Actor;
  readonly summary: string;
}

export interface AuditEntry {
  readonly version: number;
  readonly at: number;
  readonly actor: Actor;
  readonly summary: string;
  readonly kind: EntityKind;
  readonly id: string;
  /** Tenant of the entity (after the change, or before it when deleted). */
  readonly tenant: string;
  readonly action: 'create' | 'update' | 'delete';
  readonly before: EntityTypes[EntityKind] | null;
  readonly after: EntityTypes[EntityKind] | null;
  /** The version that created `before` (0 when created). */
  readonly beforeVersion: number;
}

export interface AuditFilter {
  readonly tenant?: string | undefined;
  readonly kind?: EntityKind | undefined;
  readonly id?: string | undefined;
  /** Only entries with a version greater than this. */
  readonly afterVersion?: number | undefined;
  readonly limit?: number | undefined;
}

export class StateConflictError extends Error {
  readonly kind: EntityKind;
  readonly id: string;
  constructor(kind: EntityKind, id: string) {
    super(`${kind} ${id} was changed by someone else meanwhile; reload it and retry`);
    this.kind = kind;
    this.id = id;
  }
}

export interface StateStore {
  /** Every current entity and the latest version. */
  loadCurrent(): Promise<{ readonly version: number; readonly at: number; readonly entities: readonly Stored[] }>;
  /** The latest version number (0 when empty): cheap, polled by other gateway instances. */
  latestVersion(): Promise<number>;
  commit(request: CommitRequest): Promise<VersionInfo>;
  /** Audit entries, newest first unless afterVersion is given (then oldest first). */
  audit(filter: AuditFilter): Promise<AuditEntry[]>;
  version(version: number): Promise<VersionInfo | null>;
  /** Versions after `version`, oldest first. */
  versionsAfter(version: number, limit: number): Promise<VersionInfo[]>;
  getMeta(name: string): Promise<string | null>;
  setMeta(name: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/** A consumer as both state stores keep it (`data`: the JSON text). */
export interface ConsumerRow { id: string; tenant: string; version: number; data: string }

/** The consumers, as stored and as `changes` leave them: what tenantOf() looks a key's or subscription's tenant up in. */
export function consumerLookup(rows: readonly ConsumerRow[], changes: CommitRequest['changes']): StateMaps {
  const maps = emptyMaps();
  for (const r of rows) maps.consumer.set(r.id, { kind: 'consumer', id: r.id, tenant: r.tenant, version: r.version, data: JSON.parse(r.data) });
  for (const c of changes) if (c.kind === 'consumer' && c.after) maps.consumer.set(c.id, { kind: 'consumer', id: c.id, tenant: (c.after as EntityTypes['consumer']).tenant, version: 0, data: c.after as EntityTypes['consumer'] });
  return maps;
}
