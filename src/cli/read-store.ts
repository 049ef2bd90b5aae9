import { existsSync } from 'node:fs';
import { openStore, storeLocation } from '../store/open-store.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { SqliteStateStore } from '../store/sqlite/state-store.ts';
import type { StateStore } from '../store/state-store.ts';
import { describeLocation, type Store } from '../store/store.ts';
import { dataDirDatabase } from './explain.ts';
import { storeOption } from './serve.ts';

/** The call log and tenancy state a read-only CLI verb (stats, audit) works on. */
export interface ReadStores {
  readonly store: Store;
  readonly state: StateStore;
  close(): Promise<void>;
}

/**
 * `--store postgresql://...`: the cluster's shared store (every node's calls); otherwise the
 * data directory's SQLite file, opened read-only. null (after saying why on stderr) when
 * there is nothing to read.
 */
export async function openReadStores(verb: string, store: string | undefined, dataDir: string | undefined): Promise<ReadStores | null> {
  storeOption(store, dataDir ?? './.pinpoint-demo');
  const location = storeLocation(store, dataDir ?? './.pinpoint-demo');
  if (location.kind === 'postgres') {
    let shared: Store;
    try {
      shared = await openStore(location, { readOnly: true });
    } catch (err) {
      process.stderr.write(`pinpoint ${verb}: cannot open the store ${describeLocation(location)}: ${(err as Error).message}\n`);
      return null;
    }
    const { PostgresStore } = await import('../store/postgres/postgres-store.ts');
    const { PostgresStateStore } = await import('../store/postgres/state-store.ts');
    if (!(shared instanceof PostgresStore)) throw new Error('a postgres location opened another kind of store');
    return { store: shared, state: new PostgresStateStore(shared.pool), close: () => shared.close() };
  }
  const file = store === undefined && !process.env.PINPOINT_STORE ? dataDirDatabase(dataDir) : location.file;
  if (!existsSync(file)) { process.stderr.write(`pinpoint ${verb}: no database at ${file}; pass the server's --data-dir (or --store)\n`); return null; }
  const local = new SqliteStore(file, { readOnly: true });
  const state = new SqliteStateStore(file, { readOnly: true });
  return { store: local, state, async close() { await state.close(); await local.close(); } };
}
