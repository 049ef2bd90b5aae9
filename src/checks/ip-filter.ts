import type { CidrSet } from '../net/cidr-set.ts';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

export interface IpFilterOptions {
  readonly id: string;
  readonly allow: { readonly set: CidrSet; readonly source: ConfigLocation } | null;
  readonly deny: { readonly set: CidrSet; readonly source: ConfigLocation } | null;
  readonly source: ConfigLocation;
}

/** Deny-list first (an explicit deny wins), then the allow-list if one is configured. */
export function createIpFilter(options: IpFilterOptions): Check {
  const { allow, deny } = options;
  return {
    id: options.id,
    phase: 'pre-auth',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      const ip = ctx.clientIp;
      if (deny) {
        const hit = deny.set.match(ip);
        if (hit !== null) {
          return {
            kind: 'deny', code: 'ip_not_allowed', rule: deny.source,
            evidence: { client_ip: ip, peer_ip: ctx.peerIp, list: 'deny', matched: hit },
            detail: `Requests from ${ip} are not allowed on this route.`,
          };
        }
      }
      if (allow) {
        const hit = allow.set.match(ip);
        if (hit === null) {
          return {
            kind: 'deny', code: 'ip_not_allowed', rule: allow.source,
            evidence: { client_ip: ip, peer_ip: ctx.peerIp, list: 'allow', allow_entries: allow.set.size, matched: null },
            detail: `Requests from ${ip} are not allowed on this route.`,
          };
        }
        return { kind: 'continue', evidence: { client_ip: ip, matched: hit } };
      }
      return { kind: 'continue', evidence: { client_ip: ip } };
    },
  };
}
