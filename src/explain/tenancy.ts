import type { TraceRecord } from '../log/trace.ts';
import { compileTenancy, type CompiledTenancy } from '../policy/compile.ts';
import { decideAccess, decideOwnership, decideSubscription, type Caller } from '../policy/evaluate.ts';
import type { StateStore } from '../store/state-store.ts';
import { loadSnapshot } from '../tenancy/runtime.ts';
import { applyChanges, rollBack, type StateSnapshot } from '../tenancy/state.ts';

// Explain for the tenancy layer: re-decide a logged request under any state version (the
// one it was decided under, later ones, or a proposed change), and name the identities
// that *are* allowed when the caller was not — the "wrong client id" diagnosis.

export interface Redecision {
  readonly allowed: boolean;
  readonly code: string | null;
  /** `policy@vN`, `subscription@vN`, `key@vN`... what decided. */
  readonly decidedBy: string | null;
}

/** The state as it was at `version`: the current one with every later change undone. */
export async function stateAt(store: StateStore, version: number): Promise<StateSnapshot> {
  const current = await loadSnapshot(store);
  if (version >= current.version) return current;
  const later = await store.audit({ afterVersion: version, limit: 1_000_000 });
  const info = await store.version(version);
  return rollBack(current, later, version, info?.at ?? 0);
}

const tenancyCodes = new Set(['subscription_required', 'subscription_pending', 'tenant_mismatch', 'no_access_policy', 'permission_denied', 'not_resource_owner', 'api_version_retired', 'credential_revoked', 'credential_expired', 'account_suspended']);

/** Whether explain can re-decide this trace offline: it reached (or was refused before) the tenancy checks with a known identity. */
export function redecidable(t: TraceRecord): boolean {
  if (t.routeId === null || t.stateVersion === undefined) return false;
  if (t.code === null) return t.identity !== null && t.answeredBy !== 'none';
  return tenancyCodes.has(t.code) && (t.identity !== null || keyIdOf(t) !== null);
}

function keyIdOf(t: TraceRecord): string | null {
  if (t.identity?.kind === 'api_key') return t.identity.credentialId;
  for (const c of t.checks) if (c.id === 'api-key' && typeof c.evidence?.key_id === 'string') return c.evidence.key_id;
  return null;
}

/** Path parameters of a logged request, from its route's template (explain has no router). */
export function paramsOf(template: string, path: string): Record<string, string> {
  const a = template.split('/');
  const b = path.split('/');
  const out: Record<string, string> = {};
  a.forEach((seg, i) => { const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\*?\}$/.exec(seg); if (m && b[i] !== undefined) out[m[1]!] = decodeURIComponent(b[i]!); });
  return out;
}

/** The tenancy part of the decision (key status, account, subscription, policy, ownership) under a compiled state. */
/** `at`: the moment key validity is judged (a later version is judged as of its own time). */
export function redecide(t: TraceRecord, c: CompiledTenancy, routePath: string | null, at: number = t.ts): Redecision {
  const e = c.state.entities;
  const keyId = keyIdOf(t);
  let consumerId = t.identity?.consumerId ?? null;
  let roles: readonly string[] = t.identity?.roles ?? [];
  let scopes: readonly string[] = t.identity?.scopes ?? [];
  if (keyId) {
    const key = e.key.get(keyId);
    if (!key) return { allowed: false, code: 'credential_unknown', decidedBy: `key ${keyId} (absent)` };
    if (key.data.revokedAt && Date.parse(key.data.revokedAt) <= at) return { allowed: false, code: 'credential_revoked', decidedBy: `key ${keyId}@v${key.version}` };
    if (key.data.expiresAt && Date.parse(key.data.expiresAt) <= at) return { allowed: false, code: 'credential_expired', decidedBy: `key ${keyId}@v${key.version}` };
    consumerId = key.data.consumer;
    roles = key.data.roles;
    scopes = key.data.scopes;
  }
  const consumer = consumerId ? e.consumer.get(consumerId) : undefined;
  if (consumer?.data.status === 'suspended') return { allowed: false, code: 'account_suspended', decidedBy: `consumer ${consumer.id}@v${consumer.version}` };
  const api = c.apiByRoute.get(t.routeId ?? '');
  if (!api) return { allowed: true, code: null, decidedBy: null };
  const tenantId = consumer?.data.tenant || t.identity?.tenantId || null;
  const sub = decideSubscription(c, api, { consumerId, tenantId });
  if (sub.outcome !== 'ok') return { allowed: false, code: sub.outcome, decidedBy: 'subscription' in sub && sub.subscription ? `subscription ${sub.subscription.id}@v${sub.subscription.version}` : `api ${api.id}@v${api.version}` };
  const caller: Caller = { consumerId, tenantId, subject: t.identity?.subject ?? consumerId ?? '', roles, scopes, headers: t.request.headers, now: t.ts };
  if (api.data.policies === 'enforce') {
    const d = decideAccess(c, api.id, t.routeId!, t.method, caller);
    if (d.outcome === 'deny') return { allowed: false, code: 'permission_denied', decidedBy: `policy ${d.policy.id}@v${d.policy.version}` };
    if (d.outcome !== 'allow') return { allowed: false, code: d.outcome, decidedBy: null };
  }
  if (routePath) {
    const o = decideOwnership(c, api, t.routeId!, t.method, paramsOf(routePath, t.path), caller.subject);
    if (o.outcome === 'not_resource_owner') return { allowed: false, code: 'not_resource_owner', decidedBy: `owner ${o.resource}${o.ownerVersion ? `@v${o.ownerVersion}` : ' (none)'}` };
  }
  return { allowed: true, code: null, decidedBy: null };
}

export interface VersionVerdict {
  readonly version: number;
  readonly at: number;
  readonly decision: Redecision;
}

/** The first later version whose decision differs from the one the request got, if any (up to `limit` versions are tried). */
export async function laterFlip(store: StateStore, t: TraceRecord, routePath: string | null, limit = 200): Promise<VersionVerdict | null> {
  if (!redecidable(t)) return null;
  const later = await store.versionsAfter(t.stateVersion!, limit);
  if (later.length === 0) return null;
  const refused = t.code !== null;
  // Walk forward from the request's version, applying each version's changes in turn.
  let snapshot = await stateAt(store, t.stateVersion!);
  const changes = await store.audit({ afterVersion: t.stateVersion!, limit: 1_000_000 });
  for (const v of later) {
    const these = changes.filter((c) => c.version === v.version);
    snapshot = { version: v.version, at: v.at, entities: applyChanges(snapshot.entities, these, v.version) };
    const d = redecide(t, compileTenancy(snapshot), routePath, Math.max(t.ts, v.at));
    if (d.allowed === refused) return { version: v.version, at: v.at, decision: d };
  }
  return null;
}

export interface SimilarIdentity {
  readonly consumer: string;
  readonly name: string | null;
  readonly why: string;
  readonly policy: string;
}

/**
 * Identities that would be allowed this route and method and look like the caller: same
 * tenant and a similar id or display name, or the same consumer behind another key.
 */
export function similarAllowedIdentities(t: TraceRecord, c: CompiledTenancy): SimilarIdentity[] {
  const caller = t.identity?.consumerId ?? null;
  const api = c.apiByRoute.get(t.routeId ?? '');
  if (!api || !caller) return [];
  const me = c.state.entities.consumer.get(caller);
  const out: (SimilarIdentity & { score: number })[] = [];
  for (const other of c.state.entities.consumer.values()) {
    if (other.id === caller || other.data.tenant !== (me?.data.tenant ?? t.identity?.tenantId)) continue;
    const roles = [...c.state.entities.key.values()].filter((k) => k.data.consumer === other.id).flatMap((k) => k.data.roles);
    const d = decideAccess(c, api.id, t.routeId!, t.method, { consumerId: other.id, tenantId: other.data.tenant, subject: other.id, roles, scopes: [], headers: t.request.headers, now: t.ts });
    if (d.outcome !== 'allow') continue;
    const score = similarity(caller, other.id) + similarity(me?.data.name ?? '', other.data.name ?? '');
    const why = sharesStem(caller, other.id) ? `its id shares "${commonStem(caller, other.id)}" with ${caller}` : me?.data.name && other.data.name && similarity(me.data.name, other.data.name) > 0.5 ? `its name "${other.data.name}" resembles "${me.data.name}"` : 'same tenant';
    out.push({ consumer: other.id, name: other.data.name ?? null, why, policy: `${d.policy.id}@v${d.policy.version}`, score });
  }
  return out.filter((x) => x.score > 0.5).sort((a, b) => b.score - a.score).slice(0, 3).map(({ score: _s, ...rest }) => rest);
}

function tokens(s: string): string[] { return s.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean); }

/** Shared tokens over all tokens (Jaccard): acme-reporting vs acme-reporting-staging = 2/3. */
function similarity(a: string, b: string): number {
  const ta = new Set(tokens(a));
  const tb = new Set(tokens(b));
  if (ta.size === 0 || tb.size === 0) return 0;
  let shared = 0;
  for (const x of ta) if (tb.has(x)) shared++;
  return shared / new Set([...ta, ...tb]).size;
}

function commonStem(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i).replace(/[-_.]+$/, '');
}

function sharesStem(a: string, b: string): boolean { return commonStem(a, b).length >= 4 && commonStem(a, b).includes('-'); }

/** The sentences explain adds for a tenancy decision. */
export async function tenancyFindings(store: StateStore, t: TraceRecord, routePath: string | null): Promise<string[]> {
  const out: string[] = [];
  if (t.stateVersion === undefined) return out;
  const refusing = t.checks.find((c) => c.outcome === 'deny');
  const ev = refusing?.evidence;
  if (t.code === 'no_access_policy' || t.code === 'permission_denied') {
    const then = compileTenancy(await stateAt(store, t.stateVersion));
    const who = t.identity?.consumerId ?? t.identity?.subject ?? 'an unmapped identity';
    if (t.code === 'permission_denied' && typeof ev?.policy === 'string') out.push(`Deny policy ${ev.policy} v${String(ev.policy_version)} applies to ${who}; a deny wins over every allow.`);
    else if (t.code === 'permission_denied') out.push(`Policies name ${who} but none allows ${t.method} on route ${t.routeId}${Array.isArray(ev?.considered) && ev.considered.length ? ` (considered: ${(ev.considered as string[]).join('; ')})` : ''}.`);
    else out.push(`No access policy of API ${String(ev?.api ?? '?')} names ${who} or any of its roles (state v${t.stateVersion}).`);
    // The same consumer behind another key (a rotation, a key with other roles) that the policies allow.
    if (t.identity?.kind === 'api_key' && t.identity.consumerId) {
      const mine = then.state.entities.key.get(t.identity.credentialId);
      for (const k of then.state.entities.key.values()) {
        if (k.data.consumer !== t.identity.consumerId || k.id === t.identity.credentialId || k.data.revokedAt || (k.data.expiresAt && Date.parse(k.data.expiresAt) <= t.ts)) continue;
        const d = decideAccess(then, String(ev?.api ?? ''), t.routeId ?? '', t.method, { consumerId: t.identity.consumerId, tenantId: t.identity.tenantId, subject: t.identity.subject, roles: k.data.roles, scopes: k.data.scopes, headers: t.request.headers, now: t.ts });
        if (d.outcome !== 'allow') continue;
        const relation = mine?.data.replacedBy === k.id ? 'the key that replaced yours' : k.data.replacedBy === t.identity.credentialId ? 'the key yours replaced' : 'another key';
        out.push(`The same consumer has ${relation}, ${k.id} (roles [${k.data.roles.join(' ')}]), which ${d.policy.id}@v${d.policy.version} allows: is the client using the right key?`);
      }
    }
    const similar = similarAllowedIdentities(t, then);
    if (similar.length) {
      const cred = t.identity ? `${t.identity.kind === 'api_key' ? 'key' : 'token'} ${t.identity.credentialId}` : 'its credential';
      out.push(`The request was made as ${who} (${cred}); policies grant ${t.method} ${t.path} to ${similar.map((s) => `${s.consumer}${s.name ? ` ("${s.name}")` : ''} by ${s.policy}`).join(', ')}. Are you using the right client id/key?`);
      for (const s of similar) out.push(`  ${s.consumer}: ${s.why}.`);
    }
  }
  if (t.code === 'not_resource_owner') out.push(`Owner-only rule ${String(ev?.rule)}: resource ${String(ev?.resource)} is owned by ${ev?.owner === null ? 'nobody on record' : String(ev?.owner)}; the request was made as ${String(ev?.caller)}.`);
  if (t.code === 'subscription_pending') out.push(`Subscription ${String(ev?.subscription)} is requested, not approved: the API's tenant approves it (POST /v1/subscriptions/${String(ev?.subscription)}/approve on the admin API).`);
  if ((t.code === 'subscription_required' || t.code === 'subscription_pending') && typeof ev?.subscription === 'string') {
    const last = (await store.audit({ kind: 'subscription', id: ev.subscription, limit: 50 })).find((e) => e.version <= t.stateVersion!);
    if (last) out.push(`Subscription ${ev.subscription} was last changed in v${last.version} by ${last.actor.id} (${last.actor.role}) at ${new Date(last.at).toISOString()}: ${last.summary}.`);
  }
  if (t.code === 'tenant_mismatch') out.push(`The caller belongs to tenant ${String(ev?.tenant)}; API ${String(ev?.api)} belongs to ${String(ev?.api_tenant)} and is not public.`);
  const flip = await laterFlip(store, t, routePath);
  const decided = `${t.code ? 'denied' : 'allowed'} under state v${t.stateVersion}`;
  if (flip) {
    const after = Math.round((flip.at - t.ts) / 100) / 10;
    out.push(`Version check: ${decided}; v${flip.version} — created ${after >= 0 ? `${after} s after` : `${-after} s before`} the request — would ${flip.decision.allowed ? 'allow it' : `refuse it (${flip.decision.code}${flip.decision.decidedBy ? `, ${flip.decision.decidedBy}` : ''})`}.`);
  } else if (redecidable(t)) {
    const latest = await store.latestVersion();
    out.push(`Version check: ${decided}; ${latest > t.stateVersion ? `the later versions up to v${latest} decide it the same way` : 'no later state version exists'}.`);
  }
  return out;
}
