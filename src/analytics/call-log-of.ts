import type { AdminCall } from '../admin/router.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';

/**
 * The call log this node writes to, for an admin call: the shared store (every node's calls,
 * PostgreSQL) or a read-only handle on its SQLite file. This node's pending records are
 * flushed first; other nodes' arrive within their own flush interval (log.flushIntervalMs).
 */
export async function withCallLog<T>(call: AdminCall, fn: (store: Store) => Promise<T>): Promise<T> {
  await call.deps.gateway.writer.flush();
  const shared = call.deps.gateway.sharedStore;
  if (shared) return fn(shared);
  const local = new SqliteStore(call.deps.databaseFile, { readOnly: true });
  try { return await fn(local); } finally { await local.close(); }
}
