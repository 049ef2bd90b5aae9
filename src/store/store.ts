import type { TraceRecord } from '../log/trace.ts';
import type { AlertStateStore } from './alert-state.ts';
import type { CallLogReader } from './call-log-reader.ts';
import type { CallRow } from './sqlite/call-log-store.ts';
import type { ConfigVersionRow } from './sqlite/config-versions.ts';

// Where the call log and the config versions live: the embedded SQLite file (one machine)
// or PostgreSQL (several nodes). One interface, two implementations side by side, and
// one contract suite (test/store/) that both must pass.

export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string };

export interface Store {
  readonly location: StoreLocation;
  /** One transaction per batch. A request id seen again replaces its row. */
  insertBatch(rows: readonly CallRow[]): Promise<void>;
  findTrace(requestId: string): Promise<TraceRecord | null>;
  /** Newest first. */
  recentTraces(limit: number): Promise<TraceRecord[]>;
  /** Retention: deletes up to `limit` calls older than `before`; returns how many. */
  deleteOlderThan(before: number, limit?: number): Promise<number>;
  setStat(name: string, value: number, now: number): Promise<void>;
  readStats(): Promise<Record<string, number>>;
  /** Same text as the latest version: that version. Otherwise the next number, atomically across processes and nodes. */
  recordConfigVersion(hash: string, file: string, text: string, now: number): Promise<number>;
  getConfigVersion(version: number): Promise<ConfigVersionRow | null>;
  latestConfigVersion(): Promise<ConfigVersionRow | null>;
  /** Analytics, access-review and alert queries over the call log (every node's calls with PostgreSQL). */
  readonly log: CallLogReader;
  /** The alerts' firing state, notifications and leadership (created on first use). */
  readonly alerts: AlertStateStore;
  /** Forgets every call (rollups included), config version, stat and alert state (demo --reset). The schema stays. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Redacts the password of a connection URL for logs and messages. */
export function describeLocation(location: StoreLocation): string {
  if (location.kind === 'sqlite') return location.file;
  try {
    const u = new URL(location.url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://(unparseable url)';
  }
}
