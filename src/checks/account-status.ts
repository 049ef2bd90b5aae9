import type { Directory } from '../credentials/directory.ts';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

/** A valid credential of a suspended consumer or tenant is refused with 403, not 401: the key is fine, the account is not. */
export function createAccountStatusCheck(directory: Directory, source: ConfigLocation): Check {
  return {
    id: 'account-status',
    phase: 'authz',
    source,
    evaluate(ctx: RequestContext): Verdict {
      const identity = ctx.identity;
      if (!identity) return { kind: 'continue', evidence: { identity: null } };
      const consumer = identity.consumerId ? directory.consumers.get(identity.consumerId) : undefined;
      if (consumer?.suspended) {
        return {
          kind: 'deny', code: 'account_suspended', rule: consumer.source,
          evidence: { consumer: consumer.id, tenant: consumer.tenantId, suspended: 'consumer', reason: consumer.suspendedReason },
          detail: `The account ${consumer.id} is suspended.`,
        };
      }
      const tenant = identity.tenantId;
      const tenantRule = tenant ? directory.suspendedTenants.get(tenant) : undefined;
      if (tenant && tenantRule) {
        return { kind: 'deny', code: 'account_suspended', rule: tenantRule, evidence: { consumer: identity.consumerId, tenant, suspended: 'tenant' }, detail: `The tenant ${tenant} is suspended.` };
      }
      return { kind: 'continue', evidence: { consumer: identity.consumerId, tenant } };
    },
  };
}
