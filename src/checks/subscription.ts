import { decideSubscription } from '../policy/evaluate.ts';
import type { CompiledTenancy } from '../policy/compile.ts';
import type { Stored } from '../tenancy/model.ts';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

/**
 * An API call needs an approved subscription of the caller's consumer to the API, and the
 * consumer must belong to the API's tenant unless the API is public. Runs before the scope
 * check: a key of another tenant is refused for what it is, not for a missing scope.
 */
export function createSubscriptionCheck(tenancy: CompiledTenancy, api: Stored<'api'>, source: ConfigLocation): Check {
  const base = { api: api.id, api_version: api.data.version, api_tenant: api.data.tenant, state_version: tenancy.stateVersion };
  const rule: ConfigLocation = { file: 'state', line: 0, path: `apis/${api.id}@v${api.version}` };
  const passes = new WeakMap<Stored<'subscription'>, Verdict>();
  return {
    id: 'subscription',
    phase: 'authz',
    source,
    evaluate(ctx: RequestContext): Verdict {
      // Only `simulate --skip authn` reaches here without an identity: nobody to decide about. Live traffic always has one.
      if (ctx.identity === null && ctx.dryRun) return { kind: 'continue', evidence: { identity: null } };
      const identity = ctx.identity;
      const caller = { consumerId: identity?.consumerId ?? null, tenantId: identity?.tenantId ?? null };
      const d = decideSubscription(tenancy, api, caller);
      const who = { consumer: caller.consumerId, tenant: caller.tenantId };
      switch (d.outcome) {
        case 'ok': {
          // The same for every request of this subscription: built once per compiled state.
          let pass = passes.get(d.subscription);
          if (!pass) { pass = { kind: 'continue', evidence: { ...base, ...who, subscription: d.subscription.id, subscription_version: d.subscription.version } }; passes.set(d.subscription, pass); }
          return pass;
        }
        case 'api_version_retired':
          return {
            kind: 'deny', code: 'api_version_retired', rule, evidence: { ...base, successor: api.data.successor ?? null },
            detail: `API ${api.id} version ${api.data.version} is retired${api.data.successor ? `; use its successor ${api.data.successor}` : ''}.`,
            ...(api.data.successor || api.data.successorLink ? { headers: { link: `<${api.data.successorLink ?? `urn:pinpoint:api:${api.data.successor}`}>; rel="successor-version"` } } : {}),
          };
        case 'tenant_mismatch':
          return {
            kind: 'deny', code: 'tenant_mismatch', rule, evidence: { ...base, ...who },
            detail: caller.tenantId ? `This credential belongs to tenant ${caller.tenantId}; API ${api.id} is published by another tenant.` : `This credential belongs to no tenant; API ${api.id} is published by a tenant.`,
          };
        case 'subscription_pending':
          return {
            kind: 'deny', code: 'subscription_pending', rule, evidence: { ...base, ...who, subscription: d.subscription.id, subscription_version: d.subscription.version, status: 'requested' },
            detail: `The subscription of ${caller.consumerId} to API ${api.id} is awaiting approval.`,
          };
        case 'subscription_required':
          return {
            kind: 'deny', code: 'subscription_required', rule, evidence: { ...base, ...who, subscription: d.subscription?.id ?? null, subscription_version: d.subscription?.version ?? null, status: d.status },
            detail: caller.consumerId ? `${caller.consumerId} has no approved subscription to API ${api.id}${d.status === 'none' ? '' : ` (it was ${d.status})`}.` : `This credential is not mapped to an application subscribed to API ${api.id}.`,
          };
      }
    },
  };
}
