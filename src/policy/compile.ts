import type { Api, Policy, Stored } from '../tenancy/model.ts';
import type { StateSnapshot } from '../tenancy/state.ts';

// The tenancy state compiled for the request path: every lookup a check makes is a map
// get on a key built from the request (API, route, method, subject), so the cost of a
// decision grows with the number of policies that match, never with the number that exist.

export interface CompiledTenancy {
  readonly stateVersion: number;
  readonly at: number;
  readonly state: StateSnapshot;
  readonly apiByRoute: ReadonlyMap<string, Stored<'api'>>;
  /** `consumer\0api` -> subscription. */
  readonly subscriptions: ReadonlyMap<string, Stored<'subscription'>>;
  /** `api|route|method|subject` (route and method may be `*`) -> policies. */
  readonly policies: ReadonlyMap<string, readonly Stored<'policy'>[]>;
  /** `api|subject`: the subject is named by at least one policy of the API. */
  readonly policySubjects: ReadonlySet<string>;
  /** `source:resourceId` -> owner record. */
  readonly owners: ReadonlyMap<string, Stored<'owner'>>;
  /** APIs with a conditional policy: their decisions depend on the request, not only on the caller. */
  readonly conditionalApis: ReadonlySet<string>;
  /** Response headers of routes of deprecated APIs (Deprecation, Sunset, Link), built once per version. */
  readonly lifecycleHeaders: ReadonlyMap<string, readonly [string, string][]>;
}

export const subjectKeysOf = (consumerId: string | null, roles: Iterable<string>): string[] => {
  const keys = ['c:*'];
  if (consumerId) keys.push(`c:${consumerId}`);
  for (const r of roles) keys.push(`r:${r}`);
  return keys;
};

function policySubjectKeys(p: Policy): string[] {
  return [...p.subjects.consumers.map((c) => `c:${c}`), ...p.subjects.roles.map((r) => `r:${r}`)];
}

export function compileTenancy(state: StateSnapshot): CompiledTenancy {
  const e = state.entities;
  const apiByRoute = new Map<string, Stored<'api'>>();
  for (const api of e.api.values()) for (const r of api.data.routes) apiByRoute.set(r, api);
  const subscriptions = new Map<string, Stored<'subscription'>>();
  for (const s of e.subscription.values()) subscriptions.set(`${s.data.consumer}\u0000${s.data.api}`, s);
  const policies = new Map<string, Stored<'policy'>[]>();
  const policySubjects = new Set<string>();
  const conditionalApis = new Set<string>();
  for (const p of e.policy.values()) {
    if (p.data.conditions.length > 0) conditionalApis.add(p.data.api);
    const routes = p.data.routes.length ? p.data.routes : ['*'];
    const methods = p.data.methods.length ? p.data.methods : ['*'];
    for (const s of policySubjectKeys(p.data)) {
      policySubjects.add(`${p.data.api}|${s}`);
      for (const r of routes) for (const m of methods) {
        const k = `${p.data.api}|${r}|${m}|${s}`;
        const list = policies.get(k);
        if (list) list.push(p); else policies.set(k, [p]);
      }
    }
  }
  // Deny rules first in every bucket: the evaluator can stop at the first deny that applies.
  for (const list of policies.values()) list.sort((a, b) => (a.data.effect === b.data.effect ? a.id.localeCompare(b.id) : a.data.effect === 'deny' ? -1 : 1));
  const owners = new Map<string, Stored<'owner'>>();
  for (const o of e.owner.values()) owners.set(o.id, o);
  const lifecycleHeaders = new Map<string, [string, string][]>();
  for (const api of e.api.values()) {
    if (api.data.status !== 'deprecated') continue;
    const headers = deprecationHeaders(api.data, state.at);
    for (const r of api.data.routes) lifecycleHeaders.set(r, headers);
  }
  return { stateVersion: state.version, at: state.at, state, apiByRoute, subscriptions, policies, policySubjects, owners, lifecycleHeaders, conditionalApis };
}

/** RFC 9745 Deprecation (a structured date), RFC 8594 Sunset (an HTTP date) and a successor-version Link (RFC 5829). */
export function deprecationHeaders(api: Api, fallbackAt: number): [string, string][] {
  const since = api.deprecatedAt ? Date.parse(api.deprecatedAt) : fallbackAt;
  const headers: [string, string][] = [['deprecation', `@${Math.floor(since / 1000)}`]];
  if (api.sunset) headers.push(['sunset', new Date(api.sunset).toUTCString()]);
  const link = api.successorLink ?? (api.successor ? `urn:pinpoint:api:${api.successor}` : null);
  if (link) headers.push(['link', `<${link}>; rel="successor-version"`]);
  return headers;
}
