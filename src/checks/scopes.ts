import type { Check, ConfigLocation, Identity, RequestContext, Verdict } from '../pipeline/types.ts';

export interface RequirementOptions {
  /** Method -> every listed value is required. A method not listed needs nothing. */
  readonly required: ReadonlyMap<string, readonly string[]>;
  readonly sources: ReadonlyMap<string, ConfigLocation>;
  readonly source: ConfigLocation;
  readonly realm: string;
}

function describeCredential(identity: Identity): string {
  return identity.kind === 'api_key' ? `key '${identity.credentialId}'` : `token for '${identity.subject}'`;
}

/** RFC 6750 3.1: a token that lacks scope gets 403 with error="insufficient_scope" and the scope needed. */
export function createScopeCheck(options: RequirementOptions): Check {
  // Passing verdicts per method are constant: the credential's own scopes are in its authn evidence.
  const passes = new Map<string, Verdict>([...options.required].map(([m, required]) => [m, { kind: 'continue', evidence: { required } }]));
  const none: Verdict = { kind: 'continue', evidence: { required: [] } };
  return {
    id: 'scopes',
    phase: 'authz',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      const required = options.required.get(ctx.method);
      if (!required || required.length === 0) return none;
      const identity = ctx.identity;
      let all = identity !== null;
      for (let i = 0; all && i < required.length; i++) all = identity!.scopes.has(required[i]!);
      if (all) return passes.get(ctx.method)!;
      const has = identity ? [...identity.scopes] : [];
      const missing = required.filter((s) => !identity?.scopes.has(s));
      const who = identity ? describeCredential(identity) : 'the request';
      return {
        kind: 'deny', code: 'insufficient_scope', rule: options.sources.get(ctx.method) ?? options.source,
        evidence: { required, has, missing, credential: identity?.credentialId ?? null },
        detail: `${who} has ${has.length ? has.join(' ') : 'no scopes'}; ${ctx.method} ${ctx.path} needs ${missing.join(' ')}.`,
        headers: { 'www-authenticate': `${identity?.kind === 'api_key' ? 'ApiKey' : 'Bearer'} realm="${options.realm}", error="insufficient_scope", scope="${required.join(' ')}"` },
      };
    },
  };
}

export function createRoleCheck(options: RequirementOptions): Check {
  return {
    id: 'roles',
    phase: 'authz',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      const required = options.required.get(ctx.method);
      if (!required || required.length === 0) return { kind: 'continue', evidence: { required: [] } };
      const identity = ctx.identity;
      const has = identity ? [...identity.roles] : [];
      // Any one of the listed roles is enough: roles name who may act, scopes name what a credential may do.
      if (identity && required.some((r) => identity.roles.has(r))) return { kind: 'continue', evidence: { required_any: required, has } };
      const who = identity ? describeCredential(identity) : 'the request';
      return {
        kind: 'deny', code: 'permission_denied', rule: options.sources.get(ctx.method) ?? options.source,
        evidence: { required_any: required, has, credential: identity?.credentialId ?? null },
        detail: `${who} has no role allowed to ${ctx.method} ${ctx.path}.`,
      };
    },
  };
}
