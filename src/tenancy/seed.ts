import { createHash } from 'node:crypto';
import type { PinpointConfig } from '../config/schema.ts';
import type { EntityKind, EntityTypes } from './model.ts';
import { diffMaps, emptyMaps, tenantOf, type Change, type StateMaps } from './state.ts';

// The YAML config may declare tenants, consumers (with their keys), APIs, policies,
// subscriptions and resource owners. They seed the state store: when those sections of the
// file change, what the file declares is applied as one state version (actor config:<file>),
// and what an earlier seed created but the file no longer declares is deleted. Entities
// created through the admin API are never touched by the file. While the sections are
// unchanged, admin changes to seeded entities stand.

export const seededKinds: readonly EntityKind[] = ['tenant', 'consumer', 'key', 'api', 'subscription', 'policy', 'owner'];

export interface SeedSections {
  readonly tenants: PinpointConfig['tenants'];
  readonly consumers: PinpointConfig['consumers'];
  readonly apis: readonly EntityTypes['api'][];
  readonly policies: readonly EntityTypes['policy'][];
  readonly subscriptions: readonly EntityTypes['subscription'][];
  readonly resourceOwners: readonly EntityTypes['owner'][];
}

export function seedSectionsOf(config: PinpointConfig): SeedSections {
  const c = config as PinpointConfig & Partial<Pick<SeedSections, 'apis' | 'policies' | 'subscriptions' | 'resourceOwners'>>;
  return { tenants: c.tenants, consumers: c.consumers, apis: c.apis ?? [], policies: c.policies ?? [], subscriptions: c.subscriptions ?? [], resourceOwners: c.resourceOwners ?? [] };
}

export function seedHash(sections: SeedSections): string {
  return createHash('sha256').update(JSON.stringify(sections)).digest('hex');
}

/** The entities the file declares, as state maps (version 0: not committed yet). */
export function seedMaps(s: SeedSections): StateMaps {
  const maps = emptyMaps();
  const put = <K extends EntityKind>(kind: K, id: string, data: EntityTypes[K]) => {
    (maps[kind] as Map<string, unknown>).set(id, { kind, id, tenant: tenantOf(kind, data, maps), version: 0, data });
  };
  for (const t of s.tenants) put('tenant', t.id, { id: t.id, status: t.status });
  for (const c of s.consumers) {
    // A consumer of a tenant-less config (the gateway core's) keeps tenant "": no API can be its tenant's.
    put('consumer', c.id, strip({ id: c.id, tenant: c.tenant ?? '', name: c.name, status: c.status, suspendedReason: c.suspendedReason, jwtSubjects: c.jwtSubjects }));
    for (const k of c.keys) put('key', k.id, strip({ ...k, consumer: c.id }));
  }
  for (const a of s.apis) put('api', a.id, a);
  for (const p of s.policies) put('policy', p.id, p);
  for (const x of s.subscriptions) put('subscription', x.id, x);
  for (const o of s.resourceOwners) put('owner', o.id, o);
  return maps;
}

/**
 * The changes that make the state match the file: every declared entity as declared, and
 * previously seeded entities the file dropped deleted. `previous`: ids seeded last time.
 */
export function seedChanges(current: StateMaps, declared: StateMaps, previous: Readonly<Record<string, readonly string[]>>): Change[] {
  const target = emptyMaps();
  for (const k of seededKinds) {
    const t = target[k] as Map<string, unknown>;
    for (const [id, e] of current[k] as Map<string, unknown>) {
      const wasSeeded = previous[k]?.includes(id) ?? false;
      if (!wasSeeded) t.set(id, e);
    }
    for (const [id, e] of declared[k] as Map<string, unknown>) t.set(id, e);
  }
  const changes = diffMaps(current, target, seededKinds);
  // Deletions of dependants first, creations of parents first: tenants -> consumers -> keys.
  const rank = (c: Change) => seededKinds.indexOf(c.kind);
  return [...changes.filter((c) => c.after !== null).sort((a, b) => rank(a) - rank(b)), ...changes.filter((c) => c.after === null).sort((a, b) => rank(b) - rank(a))];
}

export function seededIds(declared: StateMaps): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of seededKinds) out[k] = [...(declared[k] as Map<string, unknown>).keys()];
  return out;
}

function strip<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}
