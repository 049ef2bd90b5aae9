import { decideAccess } from '../policy/evaluate.ts';
import type { CompiledTenancy } from '../policy/compile.ts';
import type { Stored } from '../tenancy/model.ts';
import type { Check, ConfigLocation, Identity, RequestContext, Verdict } from '../pipeline/types.ts';

/** RBAC with attribute conditions; deny wins. The decision names the policy and its version (as Cedar does). */
export function createAccessPolicyCheck(tenancy: CompiledTenancy, api: Stored<'api'>, routeId: string, source: ConfigLocation): Check {
  const base = { api: api.id, state_version: tenancy.stateVersion };
  const passes = new WeakMap<Stored<'policy'>, Verdict & { kind: 'continue' }>();
  // Without conditions a decision depends on the caller and the method only, and an identity
  // object is reused for every request of its key (or cached token): remember allows per
  // identity. The cache lives as long as this compiled chain, i.e. until the next state version.
  const cacheable = !tenancy.conditionalApis.has(api.id);
  const allowed = new WeakMap<Identity, Map<string, Verdict>>();
  return {
    id: 'access-policy',
    phase: 'authz',
    source,
    evaluate(ctx: RequestContext): Verdict {
      // Only `simulate --skip authn` reaches here without an identity: nobody to decide about. Live traffic always has one.
      if (ctx.identity === null && ctx.dryRun) return { kind: 'continue', evidence: { identity: null } };
      const identity = ctx.identity;
      if (cacheable && identity) {
        const hit = allowed.get(identity)?.get(ctx.method);
        if (hit) return hit;
      }
      const caller = {
        consumerId: identity?.consumerId ?? null, tenantId: identity?.tenantId ?? null, subject: identity?.subject ?? '',
        roles: identity?.roles ?? [], scopes: identity?.scopes ?? new Set<string>(), headers: ctx.headers, now: ctx.now, claims: identity?.claims ?? {},
      };
      const d = decideAccess(tenancy, api.id, routeId, ctx.method, caller);
      if (d.outcome === 'allow') {
        // Constant per allowing policy (and count): no allocation on the common path.
        let pass = passes.get(d.policy);
        if (!pass || pass.evidence?.evaluated !== d.evaluated) { pass = { kind: 'continue', evidence: { ...base, decision: 'allow', policy: d.policy.id, policy_version: d.policy.version, evaluated: d.evaluated } }; passes.set(d.policy, pass); }
        if (cacheable && identity) {
          let m = allowed.get(identity);
          if (!m) { m = new Map(); allowed.set(identity, m); }
          m.set(ctx.method, pass);
        }
        return pass;
      }
      const who = { consumer: caller.consumerId, roles: identity ? [...identity.roles] : [] };
      if (d.outcome === 'deny') {
        return {
          kind: 'deny', code: 'permission_denied', rule: { file: 'state', line: 0, path: `policies/${d.policy.id}@v${d.policy.version}` },
          evidence: { ...base, ...who, decision: 'deny', policy: d.policy.id, policy_version: d.policy.version, effect: 'deny', evaluated: d.evaluated },
          detail: `A deny policy forbids ${ctx.method} ${ctx.path} to this identity.`,
        };
      }
      if (d.outcome === 'no_access_policy') {
        return {
          kind: 'deny', code: 'no_access_policy', evidence: { ...base, ...who, decision: 'none', policy: null },
          detail: `No access policy of API ${api.id} applies to ${caller.consumerId ?? caller.subject ?? 'this identity'}.`,
        };
      }
      return {
        kind: 'deny', code: 'permission_denied',
        evidence: { ...base, ...who, decision: 'no_allow', policy: null, considered: d.considered.map((c) => `${c.id}@v${c.version}${c.failed ? `: ${c.failed}` : ''}`), evaluated: d.evaluated },
        detail: `No access policy allows ${ctx.method} ${ctx.path} to ${caller.consumerId ?? 'this identity'}.`,
      };
    },
  };
}
