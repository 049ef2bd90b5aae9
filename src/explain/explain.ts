import type { DatabaseSync } from 'node:sqlite';
import { loadConfigText, type LoadedConfig } from '../config/load.ts';
import type { PinpointConfig } from '../config/schema.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { CheckRecord, ConfigLocation } from '../pipeline/types.ts';
import { reasons, type ReasonSpec } from '../reasons/catalogue.ts';
import { getConfigVersion, latestConfigVersion, type ConfigVersionRow } from '../store/sqlite/config-versions.ts';
import type { Store } from '../store/store.ts';
import { diagnose } from './diagnose.ts';
import { summarizeVault } from '../vault/explain-vault.ts';
import { locateRule } from './location.ts';

export interface Explanation {
  readonly trace: TraceRecord;
  /** One sentence: who answered what, and why. */
  readonly summary: string;
  readonly refusing: CheckRecord | null;
  readonly ruleLocation: ConfigLocation | null;
  readonly reason: (ReasonSpec & { code: string }) | null;
  /** Diagnosis specific to this request: what was seen, what would fix it. */
  readonly findings: readonly string[];
  readonly configVersion: { readonly decidedBy: number; readonly latest: number | null; readonly loadedAt: number | null };
}

/**
 * Config versions as explain reads them: a SQLite handle, or rows fetched beforehand from
 * any store (PostgreSQL is asynchronous; see versionsForExplain).
 */
export interface VersionLookup {
  get(version: number): ConfigVersionRow | null;
  latest(): ConfigVersionRow | null;
}

/** The two versions explaining `trace` needs, fetched from any Store. */
export async function versionsForExplain(store: Pick<Store, 'getConfigVersion' | 'latestConfigVersion'>, trace: TraceRecord): Promise<VersionLookup> {
  const [decided, latest] = await Promise.all([store.getConfigVersion(trace.configVersion), store.latestConfigVersion()]);
  return { get: (v) => (v === decided?.version ? decided : v === latest?.version ? latest : null), latest: () => latest };
}

const lookup = (db: DatabaseSync | VersionLookup): VersionLookup => ('prepare' in db
  ? { get: (v) => getConfigVersion(db, v), latest: () => latestConfigVersion(db) }
  : db);

/** The config a request was decided under, re-read from the version store. */
export function configAtVersion(db: DatabaseSync | VersionLookup, version: number): PinpointConfig | null {
  return loadedAtVersion(db, version)?.config ?? null;
}

/** The same, with its text positions: explain points at lines the checks did not record. */
function loadedAtVersion(db: DatabaseSync | VersionLookup, version: number): LoadedConfig | null {
  const row = lookup(db).get(version);
  if (!row) return null;
  try {
    return loadConfigText(row.text, row.file, { ...process.env });
  } catch {
    return null;
  }
}

export function explainTrace(db: DatabaseSync | VersionLookup, trace: TraceRecord): Explanation {
  const versions = lookup(db);
  const refusing = trace.deniedBy ? trace.checks.find((c) => c.outcome === 'deny') ?? null : null;
  const loaded = loadedAtVersion(versions, trace.configVersion);
  const config = loaded?.config ?? null;
  const latest = versions.latest();
  const decided = versions.get(trace.configVersion);
  const reason = trace.code ? { code: trace.code, ...reasons[trace.code] } : null;
  const findings = diagnose(trace, refusing, config);
  if (latest && latest.version !== trace.configVersion) {
    findings.push(`The config has changed since: this request was decided under v${trace.configVersion}, the gateway now runs v${latest.version}. Use \`pinpoint simulate\` to see how the current config decides it.`);
  }
  return {
    trace, summary: summarize(trace, refusing), refusing, ruleLocation: locateRule(trace, refusing, loaded), reason, findings,
    configVersion: { decidedBy: trace.configVersion, latest: latest?.version ?? null, loadedAt: decided?.loadedAt ?? null },
  };
}

function summarize(t: TraceRecord, refusing: CheckRecord | null): string {
  const req = `${t.method} ${t.path}`;
  if (t.extra?.service === 'vault') return summarizeVault(t, refusing);
  if (t.answeredBy === 'upstream') {
    const passed = t.checks.filter((c) => c.outcome === 'continue').length;
    return t.status >= 400
      ? `${t.status} from the upstream ${t.upstream?.name ?? ''}: the gateway allowed ${req} (${passed} checks passed) and relayed the backend's own refusal unchanged.`
      : `${t.status} from the upstream ${t.upstream?.name ?? ''}: the gateway allowed ${req} (${passed} checks passed).`;
  }
  if (t.answeredBy === 'none') return `${req}: the client closed the connection before the answer.`;
  if (t.code && refusing) return `${t.status} ${t.code}: the gateway refused ${req} at check "${refusing.id}" (${refusing.phase} phase).`;
  if (t.code) return `${t.status} ${t.code}: the gateway refused ${req}.`;
  return `${t.status}: ${req}`;
}

export interface Difference {
  readonly field: string;
  readonly refused: string;
  readonly succeeded: string;
}

/**
 * What differs between a refused request and one that passed: the "compare with a
 * success" step of troubleshooting. Ordered from the most to the least likely to matter.
 */
export function compareTraces(refused: TraceRecord, ok: TraceRecord): Difference[] {
  const diffs: Difference[] = [];
  const add = (field: string, a: unknown, b: unknown) => {
    const sa = show(a);
    const sb = show(b);
    if (sa !== sb) diffs.push({ field, refused: sa, succeeded: sb });
  };
  add('outcome', `${refused.status} ${refused.code ?? ''}`.trim(), `${ok.status} ${ok.code ?? ''}`.trim());
  add('route', refused.routeId, ok.routeId);
  add('method', refused.method, ok.method);
  add('path', refused.path, ok.path);
  add('credential', refused.identity?.credentialId ?? credentialHint(refused), ok.identity?.credentialId ?? credentialHint(ok));
  add('consumer', refused.identity?.consumerId, ok.identity?.consumerId);
  add('tenant', refused.identity?.tenantId, ok.identity?.tenantId);
  add('scopes', refused.identity?.scopes.join(' '), ok.identity?.scopes.join(' '));
  add('roles', refused.identity?.roles.join(' '), ok.identity?.roles.join(' '));
  add('client IP', `${refused.clientIp} (via ${refused.clientIpVia})`, `${ok.clientIp} (via ${ok.clientIpVia})`);
  add('config version', `v${refused.configVersion}`, `v${ok.configVersion}`);
  add('body size', refused.request.contentLength, ok.request.contentLength);
  add('content type', refused.request.contentType, ok.request.contentType);
  const names = new Set([...Object.keys(refused.request.headers), ...Object.keys(ok.request.headers)]);
  for (const n of [...names].sort()) {
    if (volatileHeaders.has(n)) continue;
    const a = refused.request.headers[n];
    const b = ok.request.headers[n];
    if (a === undefined || b === undefined) add(`header ${n}`, a === undefined ? '(absent)' : a, b === undefined ? '(absent)' : b);
    else if (a !== b && !a.includes('[redacted')) add(`header ${n}`, a, b);
  }
  const byId = new Map(ok.checks.map((c) => [c.id, c]));
  for (const c of refused.checks) {
    const other = byId.get(c.id);
    if (other && other.outcome !== c.outcome) add(`check ${c.id}`, c.outcome + (c.code ? ` (${c.code})` : ''), other.outcome);
  }
  return diffs;
}

const volatileHeaders = new Set(['content-length', 'x-request-id', 'date', 'traceparent']);

function credentialHint(t: TraceRecord): string | null {
  for (const c of t.checks) {
    const e = c.evidence;
    if (e && typeof e.key_id === 'string') return e.key_id;
    if (e && typeof e.key_hint === 'string') return `unknown key ${e.key_hint}`;
  }
  return null;
}

function show(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)';
  return String(v);
}
