import type { IncomingMessage } from 'node:http';
import type { AuthGate, AuthThrottled } from '../limits/auth-failure-throttle.ts';
import { canonicalIp } from '../net/cidr-set.ts';
import type { Logger } from '../server/logger.ts';
import { authenticateAdmin, type AdminPrincipal } from './auth.ts';
import { AdminError } from './http.ts';

function throttledError(refused: AuthThrottled): AdminError {
  return new AdminError('admin_auth_throttled',
    refused.scope === 'client'
      ? `Too many failed admin authentications from this address; retry after ${refused.retryAfterSeconds} s.`
      : `Too many failed admin authentications overall; clients without a recent successful sign-in may retry after ${refused.retryAfterSeconds} s.`,
    [], { 'retry-after': String(refused.retryAfterSeconds) });
}

/**
 * Admin authentication behind the brute-force throttle. The client is the socket peer, never
 * X-Forwarded-For: a guesser would write a fresh address into it for every try.
 */
export function guardedAuthenticator(tokens: ReadonlyMap<string, AdminPrincipal>, throttle: AuthGate, logger: Logger) {
  return async (req: IncomingMessage, requestId: string): Promise<AdminPrincipal> => {
    const ip = canonicalIp(req.socket.remoteAddress ?? '0.0.0.0');
    // A missing header is not a guess (a console tab before sign-in): it is answered 401 without
    // asking the throttle, so it neither waits for Redis nor takes a unit of the budget.
    if (req.headers.authorization === undefined) return authenticateAdmin(req, tokens);
    const pending = throttle.attempt(ip);
    const attempt = pending instanceof Promise ? await pending : pending;
    if (attempt.refused) throw throttledError(attempt.refused);
    let principal: AdminPrincipal;
    try {
      principal = authenticateAdmin(req, tokens);
    } catch (err) {
      // Awaited before answering: the lock must be in place before this client's next try, and
      // slowing a wrong answer costs a guesser, not an admin.
      const verdict = await attempt.failed();
      logger.info({ event: 'admin_auth_failed', requestId, client: ip }, `admin authentication failed from ${ip}`);
      const lock = verdict.lock;
      if (lock) {
        logger.warn({ event: 'admin_auth_locked', requestId, client: lock.client, scope: lock.scope, limit: lock.limit, windowSeconds: lock.windowSeconds, retryAfterSeconds: lock.retryAfterSeconds },
          lock.scope === 'client' ? `admin authentication locked for ${lock.client}: ${lock.limit} failures within ${lock.windowSeconds} s` : `admin authentication locked globally for unproven clients: ${lock.limit} failures within ${lock.windowSeconds} s`);
      }
      // Past the budget a wrong token is answered like a right one: as throttled.
      if (verdict.refused) throw throttledError(verdict.refused);
      throw err;
    }
    const late = await attempt.succeeded();
    if (late) throw throttledError(late);
    return principal;
  };
}
