import type { Condition, Stored } from '../tenancy/model.ts';
import { subjectKeysOf, type CompiledTenancy } from './compile.ts';

// Pure decisions over a compiled state, shared by the checks (live traffic), explain
// (re-deciding a logged request under another version), the dry-run and the benchmark.

export interface Caller {
  readonly consumerId: string | null;
  readonly tenantId: string | null;
  /** The acting subject: the consumer id for an API key, the token subject for a JWT. */
  readonly subject: string;
  readonly roles: Iterable<string>;
  readonly scopes: ReadonlySet<string> | readonly string[];
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly now: number;
  /** Verified JWT claims ({} for API keys); undefined when unknown (offline re-decisions), where claim conditions are taken as held. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

export type SubscriptionDecision =
  | { readonly outcome: 'ok'; readonly subscription: Stored<'subscription'> }
  | { readonly outcome: 'api_version_retired' }
  | { readonly outcome: 'tenant_mismatch'; readonly callerTenant: string | null }
  | { readonly outcome: 'subscription_required'; readonly status: 'none' | 'rejected' | 'revoked'; readonly subscription: Stored<'subscription'> | null }
  | { readonly outcome: 'subscription_pending'; readonly subscription: Stored<'subscription'> };

export function decideSubscription(t: CompiledTenancy, api: Stored<'api'>, caller: Pick<Caller, 'consumerId' | 'tenantId'>): SubscriptionDecision {
  if (api.data.status === 'retired') return { outcome: 'api_version_retired' };
  if (api.data.visibility === 'tenant' && caller.tenantId !== api.data.tenant) return { outcome: 'tenant_mismatch', callerTenant: caller.tenantId };
  const sub = caller.consumerId ? t.subscriptions.get(`${caller.consumerId}\u0000${api.id}`) : undefined;
  if (!sub) return { outcome: 'subscription_required', status: 'none', subscription: null };
  switch (sub.data.status) {
    case 'approved': return { outcome: 'ok', subscription: sub };
    case 'requested': return { outcome: 'subscription_pending', subscription: sub };
    default: return { outcome: 'subscription_required', status: sub.data.status, subscription: sub };
  }
}

export type AccessDecision =
  | { readonly outcome: 'allow'; readonly policy: Stored<'policy'>; readonly evaluated: number }
  | { readonly outcome: 'deny'; readonly policy: Stored<'policy'>; readonly evaluated: number }
  | { readonly outcome: 'no_access_policy'; readonly evaluated: 0 }
  /** Policies name the caller, but none allows this route and method (or their conditions failed). */
  | { readonly outcome: 'permission_denied'; readonly considered: readonly { id: string; version: number; failed: string | null }[]; readonly evaluated: number };

export function decideAccess(t: CompiledTenancy, apiId: string, routeId: string, method: string, caller: Caller): AccessDecision {
  const subjects = subjectKeysOf(caller.consumerId, caller.roles);
  let named = false;
  for (const s of subjects) if (t.policySubjects.has(`${apiId}|${s}`)) { named = true; break; }
  if (!named) return { outcome: 'no_access_policy', evaluated: 0 };
  let allow: Stored<'policy'> | null = null;
  // A policy can sit in several buckets (two of the caller's roles): count and test it once.
  const seen = new Set<Stored<'policy'>>();
  const considered: { id: string; version: number; failed: string | null }[] = [];
  let evaluated = 0;
  for (const r of [routeId, '*']) for (const m of [method, '*']) for (const s of subjects) {
    const list = t.policies.get(`${apiId}|${r}|${m}|${s}`);
    if (!list) continue;
    for (const p of list) {
      if (seen.has(p)) continue;
      seen.add(p);
      evaluated++;
      const failed = failedCondition(p.data.conditions, caller);
      if (failed !== null) { considered.push({ id: p.id, version: p.version, failed }); continue; }
      // Deny wins over allow, whatever the order the policies were found in.
      if (p.data.effect === 'deny') return { outcome: 'deny', policy: p, evaluated };
      allow ??= p;
    }
  }
  if (allow) return { outcome: 'allow', policy: allow, evaluated };
  return { outcome: 'permission_denied', considered, evaluated };
}

/** The first condition that does not hold, described; null when all hold. */
export function failedCondition(conditions: readonly Condition[], caller: Caller): string | null {
  for (const c of conditions) {
    if ('header' in c) {
      const v = caller.headers[c.header];
      const value = Array.isArray(v) ? v.join(', ') : v;
      if (value === undefined || !c.equals.includes(value)) return `header ${c.header} is ${value === undefined ? 'absent' : `"${value.slice(0, 60)}"`}, needs ${c.equals.join(' or ')}`;
    } else if ('claim' in c) {
      if (caller.claims === undefined) continue;
      const v = caller.claims[c.claim];
      const values = (Array.isArray(v) ? v : [v]).filter((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean').map(String);
      if (!values.some((x) => c.equals.includes(x))) return `claim ${c.claim} is ${v === undefined ? 'absent' : JSON.stringify(v).slice(0, 60)}, needs ${c.equals.join(' or ')}`;
    } else if ('scope' in c) {
      const has = Array.isArray(caller.scopes) ? (caller.scopes as readonly string[]).includes(c.scope) : (caller.scopes as ReadonlySet<string>).has(c.scope);
      if (!has) return `scope ${c.scope} is missing`;
    } else {
      const d = new Date(caller.now);
      const minutes = d.getUTCHours() * 60 + d.getUTCMinutes();
      const from = minuteOfDay(c.timeWindow.from);
      const to = minuteOfDay(c.timeWindow.to);
      const inside = from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
      if (!inside || (c.timeWindow.days && !c.timeWindow.days.includes(d.getUTCDay()))) return `outside the time window ${c.timeWindow.from}-${c.timeWindow.to} UTC${c.timeWindow.days ? ` on days ${c.timeWindow.days.join(',')}` : ''}`;
    }
  }
  return null;
}

// "HH:MM" -> minutes since midnight, parsed once per distinct string: policies are evaluated
// per request, and a handful of window bounds serve them all.
const minutesCache = new Map<string, number>();
function minuteOfDay(hhmm: string): number {
  let m = minutesCache.get(hhmm);
  if (m === undefined) {
    const [h, min] = hhmm.split(':').map(Number) as [number, number];
    m = h * 60 + min;
    if (minutesCache.size < 4096) minutesCache.set(hhmm, m);
  }
  return m;
}

export type OwnershipDecision =
  | { readonly outcome: 'not_applicable' }
  | { readonly outcome: 'owner'; readonly rule: string; readonly resource: string; readonly owner: string }
  | { readonly outcome: 'not_resource_owner'; readonly rule: string; readonly resource: string; readonly owner: string | null; readonly ownerVersion: number | null };

export function decideOwnership(t: CompiledTenancy, api: Stored<'api'>, routeId: string, method: string, params: Readonly<Record<string, string>>, subject: string): OwnershipDecision {
  for (const rule of api.data.ownership) {
    if (!rule.routes.includes(routeId) || !rule.methods.includes(method)) continue;
    const resource = `${rule.source}:${params[rule.param] ?? ''}`;
    const owner = t.owners.get(resource);
    // An unknown resource has no owner to match: refusing keeps owner-only rules closed by default.
    if (!owner || owner.data.owner !== subject) {
      return { outcome: 'not_resource_owner', rule: rule.id, resource, owner: owner?.data.owner ?? null, ownerVersion: owner?.version ?? null };
    }
    return { outcome: 'owner', rule: rule.id, resource, owner: owner.data.owner };
  }
  return { outcome: 'not_applicable' };
}
