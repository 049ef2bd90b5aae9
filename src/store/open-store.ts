import { join, resolve } from 'node:path';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Store, StoreLocation } from './store.ts';

/**
 * The one configuration value that chooses the store: a postgres(ql):// URL, or
 * `sqlite:PATH` / a file path; absent, the data directory's pinpoint.db.
 */
export function storeLocation(value: string | undefined, dataDir: string): StoreLocation {
  const v = value ?? process.env.PINPOINT_STORE;
  if (v === undefined || v === '') return { kind: 'sqlite', file: join(resolve(dataDir), 'pinpoint.db') };
  if (/^postgres(ql)?:\/\//i.test(v)) {
    try { new URL(v); } catch { throw new StoreUrlError(`--store: "${v}" is not a valid URL`); }
    return { kind: 'postgres', url: v };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) throw new StoreUrlError(`--store: unsupported scheme in "${v}" (use postgresql://... or a SQLite file path)`);
  return { kind: 'sqlite', file: resolve(v.replace(/^sqlite:/i, '')) };
}

export class StoreUrlError extends Error {}

export async function openStore(location: StoreLocation, options: { readOnly?: boolean } = {}): Promise<Store> {
  if (location.kind === 'sqlite') return new SqliteStore(location.file, options);
  // Loaded on demand: every CLI verb imports this module, few of them talk to PostgreSQL.
  const { PostgresStore } = await import('./postgres/postgres-store.ts');
  // readOnly: a reader (CLI stats/audit) never creates the cluster's database by mistyping its name.
  return PostgresStore.open(location.url, { createDatabase: !options.readOnly });
}
