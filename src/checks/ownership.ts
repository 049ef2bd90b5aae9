import { decideOwnership } from '../policy/evaluate.ts';
import type { CompiledTenancy } from '../policy/compile.ts';
import type { Stored } from '../tenancy/model.ts';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

const notApplicable: Verdict = { kind: 'continue' };

/** Owner-only rules ("only the owner may modify /orders/{id}"): the owner is looked up by the path parameter. */
export function createOwnershipCheck(tenancy: CompiledTenancy, api: Stored<'api'>, routeId: string, source: ConfigLocation): Check {
  return {
    id: 'ownership',
    phase: 'authz',
    source,
    evaluate(ctx: RequestContext): Verdict {
      // Only `simulate --skip authn` reaches here without an identity: nobody to decide about. Live traffic always has one.
      if (ctx.identity === null && ctx.dryRun) return { kind: 'continue', evidence: { identity: null } };
      const subject = ctx.identity?.subject ?? '';
      const d = decideOwnership(tenancy, api, routeId, ctx.method, ctx.params, subject);
      if (d.outcome === 'not_applicable') return notApplicable;
      if (d.outcome === 'owner') return { kind: 'continue', evidence: { rule: d.rule, resource: d.resource, owner: d.owner } };
      return {
        kind: 'deny', code: 'not_resource_owner', rule: { file: 'state', line: 0, path: `apis/${api.id}@v${api.version}.ownership.${d.rule}` },
        evidence: { api: api.id, rule: d.rule, resource: d.resource, owner: d.owner, owner_version: d.ownerVersion, caller: subject, state_version: tenancy.stateVersion },
        detail: d.owner === null ? `Resource ${d.resource} has no recorded owner; only its owner may ${ctx.method} it.` : `Only the owner of ${d.resource} may ${ctx.method} it; the request was made as ${subject}.`,
      };
    },
  };
}
