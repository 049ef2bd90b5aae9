import type { StateStore, VersionInfo } from '../store/state-store.ts';
import type { Store } from '../store/store.ts';
import { timeSeries, type Scope } from './series.ts';

// "What changed": a bucket whose refusals jump well above the buckets before it, aligned
// with the config and tenancy-state versions its refusals were decided under, and the
// change (who, when, what) that introduced those versions just before the jump.

export interface Jump {
  readonly at: number;
  readonly bucketMs: number;
  readonly refused: number;
  /** The mean refusals per bucket in the buckets before (up to 6). */
  readonly baseline: number;
  readonly codes: Record<string, number>;
  readonly routes: Record<string, number>;
  /** The versions most of the jump's refusals were decided under. */
  readonly configVersion: number;
  readonly stateVersion: number | null;
  /** Set when the version differs from the one the baseline ran under: the suspect change. */
  readonly configChange: { readonly version: number; readonly loadedAt: number; readonly file: string } | null;
  readonly stateChange: (VersionInfo & { readonly changes: readonly string[] }) | null;
}

export interface JumpOptions {
  readonly bucketMs: number;
  /** A jump needs at least this many refusals in its bucket. */
  readonly minRefusals: number;
  /** ... and this many times the baseline. */
  readonly factor: number;
}

/** The call log and config versions of the node's store (SQLite or PostgreSQL). */
export type JumpSource = Pick<Store, 'log' | 'getConfigVersion'>;

export async function findJumps(store: JumpSource, state: StateStore, scope: Scope, o: JumpOptions): Promise<Jump[]> {
  const byReason = await timeSeries(store.log, scope, o.bucketMs, 'reason');
  const byRoute = await timeSeries(store.log, { ...scope, refusedOnly: true }, o.bucketMs, 'route');
  const jumps: Jump[] = [];
  for (let i = 0; i < byReason.length; i++) {
    const p = byReason[i]!;
    const prev = byReason.slice(Math.max(0, i - 6), i);
    const baseline = prev.length ? prev.reduce((a, b) => a + b.refused, 0) / prev.length : 0;
    if (p.refused < o.minRefusals || p.refused < o.factor * Math.max(baseline, 1)) continue;
    // A run of high buckets is one jump: the first one.
    const last = jumps.at(-1);
    if (last && last.at === p.t - o.bucketMs) continue;
    const v = await store.log.dominantVersions(p.t, p.t + o.bucketMs, scope.route);
    if (!v) continue;
    const before = await store.log.versionsBefore(scope.from, p.t);
    let configChange: Jump['configChange'] = null;
    let stateChange: Jump['stateChange'] = null;
    if (!before || before.configVersion !== v.configVersion) {
      const row = await store.getConfigVersion(v.configVersion);
      // The config file's path is the operator's business (it names the host's layout), not a tenant admin's.
      if (row) configChange = { version: row.version, loadedAt: row.loadedAt, file: scope.tenant ? '(gateway config)' : row.file };
    }
    if (v.stateVersion !== null && (!before || before.stateVersion !== v.stateVersion)) {
      const info = await state.version(v.stateVersion);
      if (info) {
        const all = (await state.audit({ afterVersion: v.stateVersion - 1, limit: 50 })).filter((e) => e.version === v.stateVersion);
        // A tenant admin sees its own tenant's part of the change; another tenant's change is named as such, not described.
        const entries = scope.tenant ? all.filter((e) => e.tenant === scope.tenant!.id) : all;
        const summary = entries.length < all.length ? 'a change to entities of another tenant' + (entries.length ? ' (and of yours, listed)' : '') : info.summary;
        stateChange = { ...info, summary, changes: entries.map((e) => `${e.action} ${e.kind} ${e.id} (tenant ${e.tenant})`) };
      }
    }
    const routes = byRoute.find((r) => r.t === p.t)?.by ?? {};
    jumps.push({ at: p.t, bucketMs: o.bucketMs, refused: p.refused, baseline: Math.round(baseline * 100) / 100, codes: p.by, routes, ...v, configChange, stateChange });
  }
  return jumps;
}
