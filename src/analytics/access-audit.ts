import type { RouteConfig } from '../config/schema.ts';
import type { CallLogReader } from '../store/call-log-reader.ts';
import type { StateMaps } from '../tenancy/state.ts';

// The regular access review: what is granted compared with what the call log shows is
// used. Each finding says what to do about it, so the review prevents tomorrow's 403s
// (keys about to expire) and leaks (unused keys, unused scopes, cross-tenant identities).

export interface AuditOptions {
  readonly now: number;
  /** A key not used for this many days is reported as unused. */
  readonly unusedDays: number;
  /** A key expiring within this many days is reported. */
  readonly expiringDays: number;
  /** A consumer or subject with access to at least this many tenants is reported. */
  readonly manyTenants: number;
  /** Tenant admins: only this tenant's entities. */
  readonly tenant?: string | undefined;
}

export interface KeyFinding { readonly key: string; readonly consumer: string; readonly tenant: string; readonly lastUsed: number | null; readonly requests: number; readonly advice: string }
export interface ExpiryFinding { readonly key: string; readonly consumer: string; readonly tenant: string; readonly expiresAt: string | null; readonly advice: string }
export interface ScopeFinding { readonly key: string; readonly consumer: string; readonly tenant: string; readonly granted: readonly string[]; readonly exercised: readonly string[]; readonly unused: readonly string[]; readonly advice: string }
export interface PolicyFinding { readonly policy: string; readonly tenant: string; readonly api: string; readonly effect: string; readonly advice: string }
export interface TenantsFinding { readonly identity: string; readonly kind: 'consumer' | 'jwt-subject'; readonly tenants: readonly string[]; readonly advice: string }

export interface AccessAudit {
  /** The call log's time span the usage findings are based on. */
  readonly window: { readonly from: number | null; readonly to: number };
  readonly unusedKeys: readonly KeyFinding[];
  readonly expiry: readonly ExpiryFinding[];
  readonly unusedScopes: readonly ScopeFinding[];
  readonly unmatchedPolicies: readonly PolicyFinding[];
  readonly manyTenants: readonly TenantsFinding[];
}

const DAY = 86400_000;

export async function accessAudit(log: CallLogReader, state: StateMaps, routes: readonly RouteConfig[], o: AuditOptions): Promise<AccessAudit> {
  const mine = <T extends { tenant: string }>(e: T) => o.tenant === undefined || e.tenant === o.tenant;
  const from = await log.logWindowStart();
  // Refused attempts count as use too: whoever holds an expired or revoked key is still sending it.
  const usage = new Map((await log.credentialUsage()).map((r) => [r.k, r]));

  const live = [...state.key.values()].filter((k) => mine(k) && !k.data.revokedAt);
  const unusedKeys: KeyFinding[] = [];
  const expiry: ExpiryFinding[] = [];
  for (const k of live) {
    const u = usage.get(k.id);
    if (!u) unusedKeys.push({ key: k.id, consumer: k.data.consumer, tenant: k.tenant, lastUsed: null, requests: 0, advice: 'never used in the log window: revoke it if nobody needs it' });
    else if (u.last < o.now - o.unusedDays * DAY) unusedKeys.push({ key: k.id, consumer: k.data.consumer, tenant: k.tenant, lastUsed: u.last, requests: u.n, advice: `not used for ${Math.floor((o.now - u.last) / DAY)} days: revoke it or confirm its owner still needs it` });
    const exp = k.data.expiresAt ? Date.parse(k.data.expiresAt) : null;
    if (exp === null) expiry.push({ key: k.id, consumer: k.data.consumer, tenant: k.tenant, expiresAt: null, advice: 'no expiry: set expiresAt and rotate it on a schedule' });
    else if (exp <= o.now) expiry.push({ key: k.id, consumer: k.data.consumer, tenant: k.tenant, expiresAt: k.data.expiresAt!, advice: 'expired: its callers get 401 credential_expired; rotate it (pinpoint key rotate KEY_ID, or the console) or revoke it' });
    else if (exp <= o.now + o.expiringDays * DAY) expiry.push({ key: k.id, consumer: k.data.consumer, tenant: k.tenant, expiresAt: k.data.expiresAt!, advice: `expires in ${Math.ceil((exp - o.now) / DAY)} days: rotate it before its callers start getting 401 credential_expired` });
  }

  // Scopes a key's admitted requests needed, from the routes' per-method requirements.
  const need = new Map(routes.map((r) => [r.id, r.scopes ?? {}]));
  const exercised = new Map<string, Set<string>>();
  for (const row of await log.admittedCalls()) {
    const spec = need.get(row.r);
    const s = exercised.get(row.k) ?? new Set<string>();
    exercised.set(row.k, s);
    for (const scope of spec?.[row.m] ?? spec?.['*'] ?? []) s.add(scope);
  }
  const unusedScopes: ScopeFinding[] = [];
  for (const k of live) {
    if (k.data.scopes.length === 0 || !usage.has(k.id)) continue;
    const used = exercised.get(k.id) ?? new Set<string>();
    const unused = k.data.scopes.filter((s) => !used.has(s));
    if (unused.length) unusedScopes.push({ key: k.id, consumer: k.data.consumer, tenant: k.tenant, granted: k.data.scopes, exercised: k.data.scopes.filter((s) => used.has(s)), unused, advice: `least privilege: drop ${unused.join(', ')} (no admitted request needed ${unused.length === 1 ? 'it' : 'them'} in the log window)` });
  }

  // Policies named by the access-policy check's evidence, allowing or denying.
  const matched = new Set(await log.matchedPolicies());
  const unmatchedPolicies: PolicyFinding[] = [...state.policy.values()].filter((p) => mine(p) && !matched.has(p.id)).map((p) => ({
    policy: p.id, tenant: p.tenant, api: p.data.api, effect: p.data.effect,
    advice: p.data.effect === 'deny' ? 'this deny never applied in the log window: keep it only if it guards against something expected' : 'never allowed a request in the log window: remove it or check its subjects, routes and conditions',
  }));

  // Who can reach several tenants: through approved subscriptions, or one JWT subject mapped into several tenants.
  const apiTenant = new Map([...state.api.values()].map((a) => [a.id, a.tenant]));
  const reach = new Map<string, Set<string>>();
  for (const c of state.consumer.values()) reach.set(c.id, new Set([c.tenant]));
  for (const s of state.subscription.values()) if (s.data.status === 'approved') { const t = apiTenant.get(s.data.api); if (t) reach.get(s.data.consumer)?.add(t); }
  const manyTenants: TenantsFinding[] = [];
  for (const [id, tenants] of reach) {
    if (tenants.size < o.manyTenants || (o.tenant !== undefined && !tenants.has(o.tenant))) continue;
    manyTenants.push({ identity: id, kind: 'consumer', tenants: [...tenants].sort(), advice: 'one consumer reaches several tenants: confirm each cross-tenant subscription is intended' });
  }
  const subjects = new Map<string, Set<string>>();
  for (const c of state.consumer.values()) for (const s of c.data.jwtSubjects) { const set = subjects.get(s) ?? new Set<string>(); set.add(c.tenant); subjects.set(s, set); }
  for (const [s, tenants] of subjects) if (tenants.size >= Math.max(2, o.manyTenants) && (o.tenant === undefined || tenants.has(o.tenant))) manyTenants.push({ identity: s, kind: 'jwt-subject', tenants: [...tenants].sort(), advice: 'one token subject acts as consumers of several tenants: split it per tenant' });

  return { window: { from, to: o.now }, unusedKeys, expiry, unusedScopes, unmatchedPolicies, manyTenants };
}
