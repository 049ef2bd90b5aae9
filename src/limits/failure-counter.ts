import type { AuthSurface, AuthThrottleSettings, ThrottleScope } from './auth-failure-throttle.ts';

// The shared half of brute-force protection: failure counts that every node sees. The local
// half is AuthFailureThrottle, which each process keeps anyway (it answers alone while the
// shared counter is unreachable, and its locks need no round trip).
//
// Counting is by reservation: an attempt takes one unit of the client's budget *before* its
// credential is checked, and a success gives it back. Checking first and counting after the
// verdict would let a guesser send a burst in parallel: every request would pass the check
// before the first failure was recorded, and one lock window would buy as many guesses as the
// burst is wide.

export type FailureAttempt =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly scope: ThrottleScope; readonly retryAfterMs: number };

export interface FailureLock {
  readonly scope: ThrottleScope;
  readonly retryAfterMs: number;
}

export interface FailureCounter {
  /** False while the shared store is known to be unreachable: callers decide locally at once, without waiting. */
  readonly isAvailable: boolean;
  /** Refuses when the client (or, for unproven clients, everyone) is locked or its budget is in use; else reserves one unit. */
  attempt(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureAttempt>;
  /** The reserved attempt failed: it stays counted; returns the lock this failure started, if any. */
  failed(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureLock | null>;
  /** The reserved attempt succeeded: its unit is given back, and the client counts as proven for one window. */
  succeeded(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<void>;
  /** The attempt ended without a verdict on the credential (a malformed request): its unit is given back, nothing proven. */
  released(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<void>;
}
