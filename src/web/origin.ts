import type { RequestContext } from '../pipeline/types.ts';

/**
 * Whether the request reached the gateway over HTTPS: only a trusted proxy's
 * X-Forwarded-Proto counts (the client address then came from X-Forwarded-For).
 */
export function cameOverHttps(ctx: RequestContext): boolean {
  const proto = ctx.headers['x-forwarded-proto'];
  return ctx.clientIp !== ctx.peerIp && typeof proto === 'string' && proto.split(',')[0]!.trim().toLowerCase() === 'https';
}

/** The origin the browser addressed: "self" in trustedOrigins. */
export function selfOrigin(ctx: RequestContext): string | null {
  const host = ctx.headers.host;
  if (!host || /[\s/\\@]/.test(host)) return null;
  return `${cameOverHttps(ctx) ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** scheme://host[:port] of a Referer, or null when it is not an absolute http(s) URL. */
export function originOfUrl(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}
