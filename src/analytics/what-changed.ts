import type { DatabaseSync } from 'node:sqlite';
import { getConfigVersion } from '../store/sqlite/config-versions.ts';
import type { StateStore, VersionInfo } from '../store/state-store.ts';
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

function dominantVersions(db: DatabaseSync, scope: Scope, from: number, to: number): { configVersion: number; stateVersion: number | null } | null {
  const row = db.prepare(`SELECT config_version AS c, json_extract(trace, '$.stateVersion') AS s, COUNT(*) AS n FROM calls
    WHERE ts >= ? AND ts < ? AND status >= 400 ${scope.route ? 'AND route_id = ?' : ''} GROUP BY c, s ORDER BY n DESC LIMIT 1`)
    .get(...[from, to, ...(scope.route ? [scope.route] : [])]) as { c: number; s: number | null; n: number } | undefined;
  return row ? { configVersion: row.c, stateVersion: row.s } : null;
}

function versionsBefore(db: DatabaseSync, from: number, to: number): { configVersion: number; stateVersion: number | null } | null {
  const row = db.prepare(`SELECT config_version AS c, json_extract(trace, '$.stateVersion') AS s FROM calls WHERE ts >= ? AND ts < ? ORDER BY rowid DESC LIMIT 1`).get(from, to) as { c: number; s: number | null } | undefined;
  return row ? { configVersion: row.c, stateVersion: row.s } : null;
}

export async function findJumps(db: DatabaseSync, state: StateStore, scope: Scope, o: JumpOptions): Promise<Jump[]> {
  const byReason = timeSeries(db, scope, o.bucketMs, 'reason');
  const byRoute = timeSeries(db, { ...scope, refusedOnly: true }, o.bucketMs, 'route');
  const jumps: Jump[] = [];
  for (let i = 0; i < byReason.length; i++) {
    const p = byReason[i]!;
    const prev = byReason.slice(Math.max(0, i - 6), i);
    const baseline = prev.length ? prev.reduce((a, b) => a + b.refused, 0) / prev.length : 0;
    if (p.refused < o.minRefusals || p.refused < o.factor * Math.max(baseline, 1)) continue;
    // A run of high buckets is one jump: the first one.
    const last = jumps.at(-1);
    if (last && last.at === p.t - o.bucketMs) continue;
    const v = dominantVersions(db, scope, p.t, p.t + o.bucketMs);
    if (!v) continue;
    const before = versionsBefore(db, scope.from, p.t);
    let configChange: Jump['configChange'] = null;
    let stateChange: Jump['stateChange'] = null;
    if (!before || before.configVersion !== v.configVersion) {
      const row = getConfigVersion(db, v.configVersion);
      if (row) configChange = { version: row.version, loadedAt: row.loadedAt, file: row.file };
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
