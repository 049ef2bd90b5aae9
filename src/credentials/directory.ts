import { createHash } from 'node:crypto';
import type { PathSegment } from '../config/load.ts';
import type { PinpointConfig } from '../config/schema.ts';
import type { ConfigLocation } from '../pipeline/types.ts';

// Who is who, compiled from config once: keys indexed by the hash of the whole key, so a
// presented key costs one sha256 and one map lookup whatever the number of keys.

export interface KeyEntry {
  readonly id: string;
  readonly consumerId: string;
  readonly tenantId: string | null;
  readonly prefix: string | null;
  readonly scopes: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  readonly notBefore: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
  readonly replacedBy: string | null;
  readonly source: ConfigLocation;
}

export interface ConsumerEntry {
  readonly id: string;
  readonly name: string | null;
  readonly tenantId: string | null;
  readonly suspended: boolean;
  readonly suspendedReason: string | null;
  readonly source: ConfigLocation;
}

export interface Directory {
  readonly keysByHash: ReadonlyMap<string, KeyEntry>;
  readonly keysById: ReadonlyMap<string, KeyEntry>;
  readonly consumers: ReadonlyMap<string, ConsumerEntry>;
  readonly suspendedTenants: ReadonlyMap<string, ConfigLocation>;
  /** `iss#sub` or bare `sub` -> consumer id. */
  readonly consumerBySubject: ReadonlyMap<string, string>;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class DirectoryError extends Error {
  readonly path: readonly PathSegment[];
  constructor(path: readonly PathSegment[], message: string) {
    super(message);
    this.path = path;
  }
}

const time = (v: string | undefined): number | null => (v === undefined ? null : Date.parse(v));

export function buildDirectory(config: PinpointConfig, locate: (path: readonly PathSegment[]) => ConfigLocation): Directory {
  const keysByHash = new Map<string, KeyEntry>();
  const keysById = new Map<string, KeyEntry>();
  const consumers = new Map<string, ConsumerEntry>();
  const suspendedTenants = new Map<string, ConfigLocation>();
  const consumerBySubject = new Map<string, string>();
  const tenantIds = new Set<string>();
  config.tenants.forEach((t, i) => {
    if (tenantIds.has(t.id)) throw new DirectoryError(['tenants', i, 'id'], `tenant ${t.id} is declared twice`);
    tenantIds.add(t.id);
    if (t.status === 'suspended') suspendedTenants.set(t.id, locate(['tenants', i, 'status']));
  });
  config.consumers.forEach((c, ci) => {
    if (consumers.has(c.id)) throw new DirectoryError(['consumers', ci, 'id'], `consumer ${c.id} is declared twice`);
    if (c.tenant !== undefined && !tenantIds.has(c.tenant)) throw new DirectoryError(['consumers', ci, 'tenant'], `tenant ${c.tenant} is not declared under tenants`);
    consumers.set(c.id, {
      id: c.id, name: c.name ?? null, tenantId: c.tenant ?? null, suspended: c.status === 'suspended',
      suspendedReason: c.suspendedReason ?? null, source: locate(['consumers', ci, c.status === 'suspended' ? 'status' : 'id']),
    });
    c.keys.forEach((k, ki) => {
      const hash = k.hash.slice('sha256:'.length);
      const where = ['consumers', ci, 'keys', ki];
      if (keysById.has(k.id)) throw new DirectoryError([...where, 'id'], `key id ${k.id} is used twice`);
      if (keysByHash.has(hash)) throw new DirectoryError([...where, 'hash'], `key ${k.id} has the same hash as key ${keysByHash.get(hash)!.id}`);
      const entry: KeyEntry = {
        id: k.id, consumerId: c.id, tenantId: c.tenant ?? null, prefix: k.prefix ?? null,
        scopes: new Set(k.scopes), roles: new Set(k.roles),
        notBefore: time(k.notBefore), expiresAt: time(k.expiresAt), revokedAt: time(k.revokedAt),
        revokedReason: k.revokedReason ?? null, replacedBy: k.replacedBy ?? null, source: locate(where),
      };
      keysByHash.set(hash, entry);
      keysById.set(k.id, entry);
    });
    for (const s of c.jwtSubjects) consumerBySubject.set(s, c.id);
  });
  return { keysByHash, keysById, consumers, suspendedTenants, consumerBySubject };
}
