export interface ThrottleDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly used: number;
  readonly windowSeconds: number;
  /** Epoch ms at which the current window ends and the count starts again. */
  readonly windowEndsAt: number;
  readonly retryAfterSeconds: number;
}

/**
 * Fixed windows per vault and operation class, as Key Vault describes its limits
 * ("4,000 transactions per 10 seconds"): exact Retry-After, one map entry per key.
 */
export class VaultThrottle {
  private readonly windows = new Map<string, { start: number; count: number }>();

  take(key: string, limit: number, windowSeconds: number, now: number): ThrottleDecision {
    const windowMs = windowSeconds * 1000;
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    const windowEndsAt = w.start + windowMs;
    if (w.count >= limit) {
      return { allowed: false, limit, used: w.count, windowSeconds, windowEndsAt, retryAfterSeconds: Math.max(1, Math.ceil((windowEndsAt - now) / 1000)) };
    }
    w.count++;
    return { allowed: true, limit, used: w.count, windowSeconds, windowEndsAt, retryAfterSeconds: 0 };
  }
}
