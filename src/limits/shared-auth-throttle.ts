import { AuthFailureThrottle, clientKey, publishAuthThrottleEvent, throttledFor, type AuthAttempt, type AuthGate, type AuthSurface, type AuthThrottled, type AuthThrottleSettings, type AuthVerdict } from './auth-failure-throttle.ts';
import type { FailureBar, FailureCounter } from './failure-counter.ts';

// Brute-force protection across nodes: with --redis, the failures a client makes on any node
// count against one budget, so spreading guesses over N nodes (or --workers N) does not buy
// N times the attempts.
//
// The process's own AuthFailureThrottle keeps counting alongside. It is asked first (a local
// lock is answered without a round trip), and it alone decides while Redis is unreachable:
// the throttle then limits per node, never not at all, and each such decision is published as
// `local` (metric pinpoint_auth_throttle_local_decisions_total) so the degradation is visible.
// Nothing waits for a reconnect: while the client is known to be down, and for a few seconds
// after a call failed or timed out (a hung Redis still looks connected), the answer is
// synchronous and local.

const pauseAfterErrorMs = 5000;

/** The throttle of one surface: shared through `shared` when there is one (--redis), else this process's own. */
export function authGate(surface: AuthSurface, settings: AuthThrottleSettings, shared: FailureCounter | undefined): AuthGate {
  const local = new AuthFailureThrottle(surface, settings);
  return shared ? new SharedAuthThrottle(local, shared) : local;
}

export class SharedAuthThrottle implements AuthGate {
  readonly surface: AuthSurface;
  readonly settings: AuthThrottleSettings;
  private readonly local: AuthFailureThrottle;
  private readonly shared: FailureCounter;
  private sharedPausedUntil = 0;

  constructor(local: AuthFailureThrottle, shared: FailureCounter) {
    this.local = local;
    this.shared = shared;
    this.surface = local.surface;
    this.settings = local.settings;
  }

  attempt(ip: string, now: number = Date.now()): AuthAttempt | Promise<AuthAttempt> {
    const local = this.local.attempt(ip, now);
    const client = clientKey(ip);
    if (!this.sharedUsable(now)) return this.decidedLocally(local, client);
    if (local.refused) return local;
    return this.shared.check(this.surface, client, this.settings).then(
      (bar) => {
        if (!bar) return this.sharedTicket(ip, client, local);
        publishAuthThrottleEvent(this.surface, 'refused', bar.scope, client);
        return { refused: this.throttled(bar, client) };
      },
      () => { this.pause(); return this.decidedLocally(local, client); },
    );
  }

  private sharedTicket(ip: string, client: string, local: AuthAttempt & { refused: null }): AuthAttempt {
    return {
      refused: null,
      failed: async (at) => {
        const mine = await local.failed(at);
        if (!this.sharedUsable(Date.now())) return this.decidedLocally(mine, client);
        try {
          const v = await this.shared.failed(this.surface, client, this.settings);
          // One event per refusal: the local throttle already published its own.
          if (v.barred && !mine.refused) publishAuthThrottleEvent(this.surface, 'refused', v.barred.scope, client);
          // The shared count is never below this node's, so a lock begins there first (or at the same failure).
          if (v.lock && !mine.lock) publishAuthThrottleEvent(this.surface, 'locked', v.lock.scope, client);
          return {
            refused: mine.refused ?? (v.barred ? this.throttled(v.barred, client) : null),
            lock: mine.lock ?? (v.lock ? this.throttled(v.lock, client) : null),
          };
        } catch {
          // Counted here only; the other nodes never hear of this failure.
          this.pause();
          return this.decidedLocally(mine, client);
        }
      },
      succeeded: async (at = Date.now()) => {
        const mine = this.local.refusal(ip, at);
        if (mine) return mine;
        if (this.sharedUsable(Date.now())) {
          try {
            const bar = await this.shared.succeeded(this.surface, client, this.settings);
            if (bar) {
              publishAuthThrottleEvent(this.surface, 'refused', bar.scope, client);
              return this.throttled(bar, client);
            }
          } catch {
            this.pause();
            publishAuthThrottleEvent(this.surface, 'local', null, client);
          }
        }
        // Marked proven here only once no bar applies: a refused success proves nothing.
        this.local.succeeded(ip, at);
        return null;
      },
    };
  }

  private sharedUsable(now: number): boolean {
    return this.shared.isAvailable && now >= this.sharedPausedUntil;
  }

  private pause(): void {
    this.sharedPausedUntil = Date.now() + pauseAfterErrorMs;
  }

  private decidedLocally<T extends AuthAttempt | AuthVerdict>(answer: T, client: string): T {
    publishAuthThrottleEvent(this.surface, 'local', answer.refused?.scope ?? null, client);
    return answer;
  }

  private throttled(bar: FailureBar, client: string): AuthThrottled {
    return throttledFor(this.settings, bar.scope, client, bar.retryAfterMs);
  }

}
