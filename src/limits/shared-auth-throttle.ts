import { clientKey, publishAuthThrottleEvent, type AuthAttempt, type AuthFailureThrottle, type AuthGate, type AuthSurface, type AuthThrottled, type AuthThrottleSettings, type ThrottleScope } from './auth-failure-throttle.ts';
import type { FailureCounter, FailureLock } from './failure-counter.ts';

// Brute-force protection across nodes: with --redis, the failures a client makes on any node
// count against one budget, so spreading guesses over N nodes (or --workers N) does not buy
// N times the attempts.
//
// The process's own AuthFailureThrottle keeps counting alongside. It is asked first (a local
// lock is answered without a round trip), and it alone decides while Redis is unreachable:
// the throttle then limits per node, never not at all, and each such decision is published as
// `local` (metric pinpoint_auth_throttle_local_decisions_total) so the degradation is visible.
// Nothing waits for a reconnect: while the client is known to be down, the answer is
// synchronous and local.

export class SharedAuthThrottle implements AuthGate {
  readonly surface: AuthSurface;
  readonly settings: AuthThrottleSettings;
  private readonly local: AuthFailureThrottle;
  private readonly shared: FailureCounter;

  constructor(local: AuthFailureThrottle, shared: FailureCounter) {
    this.local = local;
    this.shared = shared;
    this.surface = local.surface;
    this.settings = local.settings;
  }

  attempt(ip: string, now: number = Date.now()): AuthAttempt | Promise<AuthAttempt> {
    const local = this.local.attempt(ip, now);
    const client = clientKey(ip);
    if (!this.shared.isAvailable) return this.decidedLocally(local, client);
    if (local.refused) return local;
    return this.shared.attempt(this.surface, client, this.settings).then(
      (a) => {
        if (a.admitted) return this.sharedTicket(ip, client, local);
        publishAuthThrottleEvent(this.surface, 'refused', a.scope, client);
        return { refused: this.throttled(a.scope, client, a.retryAfterMs) };
      },
      // Asked again: other attempts from this client may have been counted locally meanwhile.
      () => this.decidedLocally(this.local.attempt(ip), client),
    );
  }

  private sharedTicket(ip: string, client: string, local: AuthAttempt & { refused: null }): AuthAttempt {
    return {
      refused: null,
      failed: async (at) => {
        const localLock = await local.failed(at);
        let lock: FailureLock | null;
        try { lock = await this.shared.failed(this.surface, client, this.settings); } catch {
          // Counted here only; the other nodes never hear of this failure.
          publishAuthThrottleEvent(this.surface, 'local', null, client);
          return localLock;
        }
        // The shared count is never below this node's, so a lock begins there first (or at the same failure).
        if (!lock || localLock) return localLock;
        publishAuthThrottleEvent(this.surface, 'locked', lock.scope, client);
        return this.throttled(lock.scope, client, lock.retryAfterMs);
      },
      // Not awaited: giving the reserved unit back must not delay the caller's answer. Commands on
      // one connection run in order, so this client's next attempt from this node sees it done.
      succeeded: (at) => {
        local.succeeded(at);
        this.shared.succeeded(this.surface, client, this.settings).catch(() => publishAuthThrottleEvent(this.surface, 'local', null, client));
      },
      released: () => {
        this.shared.released(this.surface, client, this.settings).catch(() => publishAuthThrottleEvent(this.surface, 'local', null, client));
      },
    };
  }

  private decidedLocally(answer: AuthAttempt, client: string): AuthAttempt {
    publishAuthThrottleEvent(this.surface, 'local', answer.refused?.scope ?? null, client);
    return answer;
  }

  private throttled(scope: ThrottleScope, client: string, retryAfterMs: number): AuthThrottled {
    return {
      scope, client, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      limit: scope === 'client' ? this.settings.maxFailures : this.settings.globalMaxFailures, windowSeconds: this.settings.windowSeconds,
    };
  }
}
