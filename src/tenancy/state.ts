import { entityKinds, type EntityKind, type EntityTypes, type Stored } from './model.ts';

// The whole tenancy state in memory: one map per kind. Every version of it is the previous
// one plus a change set; an older version is the current one with later changes undone.

export type StateMaps = { [K in EntityKind]: Map<string, Stored<K>> };

export interface StateSnapshot {
  readonly version: number;
  /** When this version was committed (ms); 0 for the empty state. */
  readonly at: number;
  readonly entities: StateMaps;
}

export interface Change<K extends EntityKind = EntityKind> {
  readonly kind: K;
  readonly id: string;
  /** null: created. */
  readonly before: EntityTypes[K] | null;
  /** null: deleted. */
  readonly after: EntityTypes[K] | null;
}

export function emptyMaps(): StateMaps {
  const m = {} as Record<EntityKind, Map<string, Stored>>;
  for (const k of entityKinds) m[k] = new Map();
  return m as StateMaps;
}

export function emptyState(): StateSnapshot {
  return { version: 0, at: 0, entities: emptyMaps() };
}

/** The tenant an entity belongs to, resolved against the state it lives in. */
export function tenantOf(kind: EntityKind, data: EntityTypes[EntityKind], maps: StateMaps): string {
  const d = data as unknown as Record<string, unknown>;
  if (kind === 'tenant') return d.id as string;
  if (typeof d.tenant === 'string') return d.tenant;
  // A key or a subscription belongs to its consumer's tenant.
  if (kind === 'key' || kind === 'subscription') return maps.consumer.get(d.consumer as string)?.data.tenant ?? '';
  return '';
}

export function cloneMaps(maps: StateMaps): StateMaps {
  const out = emptyMaps();
  for (const k of entityKinds) (out[k] as Map<string, Stored>) = new Map(maps[k] as Map<string, Stored>);
  return out;
}

/** Applies changes forward (version: the version they create). Returns new maps; the input is untouched. */
export function applyChanges(maps: StateMaps, changes: readonly Change[], version: number): StateMaps {
  const out = cloneMaps(maps);
  for (const c of changes) {
    const m = out[c.kind] as Map<string, Stored>;
    if (c.after === null) m.delete(c.id);
    else m.set(c.id, { kind: c.kind, id: c.id, tenant: tenantOf(c.kind, c.after, out), version, data: c.after });
  }
  return out;
}

export interface VersionedChange extends Change {
  readonly version: number;
}

/**
 * Undoes changes (newest first) to get an older state. The entity versions restored are
 * those recorded with each change's `before` (the version that created that data).
 */
export function rollBack(current: StateSnapshot, later: readonly (VersionedChange & { readonly beforeVersion: number })[], target: number, targetAt: number): StateSnapshot {
  const out = cloneMaps(current.entities);
  const sorted = [...later].sort((a, b) => b.version - a.version);
  for (const c of sorted) {
    if (c.version <= target) continue;
    const m = out[c.kind] as Map<string, Stored>;
    if (c.before === null) m.delete(c.id);
    else m.set(c.id, { kind: c.kind, id: c.id, tenant: tenantOf(c.kind, c.before, out), version: c.beforeVersion, data: c.before });
  }
  return { version: target, at: targetAt, entities: out };
}

/** The diff that turns `from` into `to` for the given kinds (entities outside them are left alone). */
export function diffMaps(from: StateMaps, to: StateMaps, kinds: readonly EntityKind[] = entityKinds): Change[] {
  const changes: Change[] = [];
  for (const k of kinds) {
    const a = from[k] as Map<string, Stored>;
    const b = to[k] as Map<string, Stored>;
    for (const [id, e] of b) {
      const old = a.get(id);
      if (!old) changes.push({ kind: k, id, before: null, after: e.data });
      else if (JSON.stringify(old.data) !== JSON.stringify(e.data)) changes.push({ kind: k, id, before: old.data, after: e.data });
    }
    for (const [id, e] of a) if (!b.has(id)) changes.push({ kind: k, id, before: e.data, after: null });
  }
  return changes;
}
