import { decideAccess } from '../policy/evaluate.ts';
import type { CompiledTenancy } from '../policy/compile.ts';
import type { Stored } from '../tenancy/model.ts';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

/** RBAC with attribute conditions; deny wins. The decision names the policy and its version (as Cedar does). */
export function createAccessPolicyCheck(tenancy: CompiledTenancy, api: Stored<'api'>, routeId: string, source: ConfigLocation): Check {
  const base = { api: api.id, state_version: tenancy.stateVersion };
  return {
    id: 'access-policy',
    phase: 'authz',
    source,
    evaluate(ctx: RequestContext): Verdict {
      // Only `simulate --skip authn` reaches here without an identity: nobody to decide about. Live traffic always has one.
      if (ctx.identity === null && ctx.dryRun) return { kind: 'continue', evidence: { identity: null } };
      const identity = ctx.identity;
      const caller = {
        consumerId: identity?.consumerId ?? null, tenantId: identity?.tenantId ?? null, subject: identity?.subject ?? '',
        roles: identity?.roles ?? [], scopes: identity?.scopes ?? new Set<string>(), headers: ctx.headers, now: ctx.now,
      };
      const d = decideAccess(tenancy, api.id, routeId, ctx.method, caller);
      const who = { consumer: caller.consumerId, roles: identity ? [...identity.roles] : [] };
      if (d.outcome === 'allow') {
        return { kind: 'continue', evidence: { ...base, decision: 'allow', policy: d.policy.id, policy_version: d.policy.version, evaluated: d.evaluated } };
      }
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
