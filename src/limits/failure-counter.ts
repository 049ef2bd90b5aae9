import type { AuthSurface, AuthThrottleSettings, ThrottleScope } from './auth-failure-throttle.ts';

// The shared half of brute-force protection: failure counts that every node sees. The local
// half is AuthFailureThrottle, which each process keeps anyway (it answers alone while the
// shared counter is unreachable, and its locks need no round trip).
//
// Verdicts are ordered, not reserved: the credential is checked locally, then its verdict goes
// to the shared store, which runs verdicts one at a time in arrival order. An attempt whose
// verdict arrives after the client ran out of budget is refused whether its credential was
// right or wrong, so a parallel burst of guesses learns nothing past the budget (all its late
// answers are alike), while successful callers never take budget: an admin's concurrent calls
// are not throttled, and a lost reply leaves no unit behind.

export interface FailureBar {
  readonly scope: ThrottleScope;
  readonly retryAfterMs: number;
}

/** A lock a failure began. */
export type FailureLock = FailureBar;

export interface FailureVerdict {
  /** Set when the client was barred by the time this verdict arrived: answer as throttled. */
  readonly barred: FailureBar | null;
  /** The lock this failure began, if any (for the log line). */
  readonly lock: FailureLock | null;
}

export interface FailureCounter {
  /** False while the shared store is known to be unreachable: callers decide locally at once, without waiting. */
  readonly isAvailable: boolean;
  /** Before the credential is checked: the bar on this client, or null. Counts nothing. */
  check(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureBar | null>;
  /** A wrong credential: counted; says whether the attempt came too late and whether it began a lock. */
  failed(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureVerdict>;
  /** A right credential: the bar if the client was barred by then (refuse it), else null and the client counts as proven. */
  succeeded(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureBar | null>;
}
