// Counters for rate limits and quotas. The local store lives in one process and survives
// config reloads; a shared implementation (Redis) has the same contract.

export type RateAlgorithm = 'sliding-log' | 'gcra';

export interface RateRule {
  readonly limit: number;
  readonly windowMs: number;
  readonly algorithm: RateAlgorithm;
}

export interface LimitDecision {
  readonly allowed: boolean;
  /** Requests still admitted right now after this one. */
  readonly remaining: number;
  /** Milliseconds until the full limit is available again. */
  readonly resetMs: number;
  /** When refused: milliseconds until one more request would be admitted. */
  readonly retryAfterMs: number;
  /** Requests counted in the current window/period, this one included when admitted. */
  readonly used: number;
  /**
   * Set when the shared counter could not be reached: the decision was then taken by an
   * in-process fallback counter, and the check applies the route's fail mode. The text
   * says why (for the trace).
   */
  readonly unavailable?: string;
}

export interface CounterStore {
  /** `consume: false` answers what would happen without counting (simulate). */
  rate(key: string, rule: RateRule, now: number, consume: boolean): LimitDecision | Promise<LimitDecision>;
  quota(key: string, limit: number, periodEnd: number, now: number, consume: boolean): LimitDecision | Promise<LimitDecision>;
  close(): void;
}
