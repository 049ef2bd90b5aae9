import type { IncomingMessage } from 'node:http';
import type { AuthFailureThrottle } from '../limits/auth-failure-throttle.ts';
import { canonicalIp } from '../net/cidr-set.ts';
import type { Logger } from '../server/logger.ts';
import { authenticateAdmin, type AdminPrincipal } from './auth.ts';
import { AdminError } from './http.ts';

/**
 * Admin authentication behind the brute-force throttle. The client is the socket peer, never
 * X-Forwarded-For: a guesser would write a fresh address into it for every try.
 */
export function guardedAuthenticator(tokens: ReadonlyMap<string, AdminPrincipal>, throttle: AuthFailureThrottle, logger: Logger) {
  return (req: IncomingMessage, requestId: string): AdminPrincipal => {
    const ip = canonicalIp(req.socket.remoteAddress ?? '0.0.0.0');
    const now = Date.now();
    const refused = throttle.refusal(ip, now);
    if (refused) {
      throw new AdminError('admin_auth_throttled',
        refused.scope === 'client'
          ? `Too many failed admin authentications from this address; retry after ${refused.retryAfterSeconds} s.`
          : `Too many failed admin authentications overall; clients without a recent successful sign-in may retry after ${refused.retryAfterSeconds} s.`,
        [], { 'retry-after': String(refused.retryAfterSeconds) });
    }
    try {
      const principal = authenticateAdmin(req, tokens);
      throttle.succeeded(ip, now);
      return principal;
    } catch (err) {
      // A missing header is not a guess (a console tab before sign-in); a wrong or malformed one is.
      if (err instanceof AdminError && req.headers.authorization !== undefined) {
        const lock = throttle.failed(ip, now);
        logger.info({ event: 'admin_auth_failed', requestId, client: ip }, `admin authentication failed from ${ip}`);
        if (lock) {
          logger.warn({ event: 'admin_auth_locked', requestId, client: lock.client, scope: lock.scope, limit: lock.limit, windowSeconds: lock.windowSeconds, retryAfterSeconds: lock.retryAfterSeconds },
            lock.scope === 'client' ? `admin authentication locked for ${lock.client}: ${lock.limit} failures within ${lock.windowSeconds} s` : `admin authentication locked globally for unproven clients: ${lock.limit} failures within ${lock.windowSeconds} s`);
        }
      }
      throw err;
    }
  };
}
