import { CidrSet, canonicalIp, parseAddress } from './cidr-set.ts';

export interface ClientAddress {
  readonly ip: string;
  /** How it was found: the socket peer, or X-Forwarded-For through trusted proxies. */
  readonly via: 'peer' | 'x-forwarded-for';
}

/**
 * X-Forwarded-For is read right to left and only while each hop is a trusted proxy:
 * anything left of the first untrusted hop was written by the client and can be forged.
 */
export function resolveClientIp(peer: string, forwardedFor: string | string[] | undefined, trusted: CidrSet | null): ClientAddress {
  const peerIp = canonicalIp(peer);
  if (!trusted || trusted.size === 0 || forwardedFor === undefined || trusted.match(peerIp) === null) {
    return { ip: peerIp, via: 'peer' };
  }
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let current = peerIp;
  let via: ClientAddress['via'] = 'peer';
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (!hop || !parseAddress(hop)) break;
    current = canonicalIp(hop);
    via = 'x-forwarded-for';
    if (trusted.match(current) === null) break;
  }
  return { ip: current, via };
}
