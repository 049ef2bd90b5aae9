import type { CounterStore, LimitDecision, RateRule } from './counter-store.ts';

interface SlidingLog { kind: 'log'; stamps: number[]; windowMs: number }
/**
 * GCRA state as the debt owed at time `at`, in ticks of 1/limit ms: one request costs
 * windowMs ticks and the burst allowance is windowMs*limit ticks. With integer
 * milliseconds this is exact integer arithmetic, where windowMs/limit in floating point
 * (1000/3) would drift and refuse the last request of a burst.
 */
interface Gcra { kind: 'gcra'; at: number; debt: number; limit: number }
interface Quota { kind: 'quota'; used: number; periodEnd: number }
type Entry = SlidingLog | Gcra | Quota;

/**
 * In-process counters. Sliding log: exact, at most `limit` requests in any window (one
 * timestamp kept per admitted request). GCRA: a few numbers per key, a steady rate with a
 * burst of `limit`, which can admit up to 2x limit within one window.
 */
export class LocalCounterStore implements CounterStore {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepEveryMs = 30_000) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), sweepEveryMs);
    this.sweeper.unref();
  }

  get size(): number { return this.entries.size; }

  rate(key: string, rule: RateRule, now: number, consume: boolean): LimitDecision {
    return rule.algorithm === 'sliding-log' ? this.slidingLog(key, rule, now, consume) : this.gcra(key, rule, now, consume);
  }

  quota(key: string, limit: number, periodEnd: number, now: number, consume: boolean): LimitDecision {
    const found = this.entries.get(key);
    let e = found?.kind === 'quota' ? found : undefined;
    if (!e || e.periodEnd <= now) {
      e = { kind: 'quota', used: 0, periodEnd };
      if (consume) this.entries.set(key, e);
    }
    const resetMs = e.periodEnd - now;
    if (e.used >= limit) return { allowed: false, remaining: 0, resetMs, retryAfterMs: resetMs, used: e.used };
    if (consume) e.used++;
    const used = consume ? e.used : e.used + 1;
    return { allowed: true, remaining: limit - used, resetMs, retryAfterMs: 0, used };
  }

  private slidingLog(key: string, rule: RateRule, now: number, consume: boolean): LimitDecision {
    // A key may have held another algorithm's state before a config reload.
    const found = this.entries.get(key);
    let e = found?.kind === 'log' ? found : undefined;
    if (!e) {
      e = { kind: 'log', stamps: [], windowMs: rule.windowMs };
      if (consume) this.entries.set(key, e);
    }
    // The sweep judges staleness by the current window, which a reload may have lengthened.
    e.windowMs = rule.windowMs;
    const stamps = e.stamps;
    const cutoff = now - rule.windowMs;
    let drop = 0;
    while (drop < stamps.length && stamps[drop]! <= cutoff) drop++;
    if (drop > 0) stamps.splice(0, drop);
    if (stamps.length >= rule.limit) {
      // One more is admitted once enough stamps expire to leave limit-1 (more than one
      // when a reload lowered the limit).
      const retryAfterMs = stamps[stamps.length - rule.limit]! + rule.windowMs - now;
      return { allowed: false, remaining: 0, resetMs: stamps[stamps.length - 1]! + rule.windowMs - now, retryAfterMs, used: stamps.length };
    }
    if (consume) stamps.push(now);
    const used = consume ? stamps.length : stamps.length + 1;
    // The newest stamp, this request's, is the last to expire, simulated or not.
    return { allowed: true, remaining: rule.limit - used, resetMs: rule.windowMs, retryAfterMs: 0, used };
  }

  private gcra(key: string, rule: RateRule, now: number, consume: boolean): LimitDecision {
    const { limit, windowMs } = rule;
    const found = this.entries.get(key);
    let e = found?.kind === 'gcra' ? found : undefined;
    if (!e) {
      e = { kind: 'gcra', at: now, debt: 0, limit };
      if (consume) this.entries.set(key, e);
    }
    // Debt rescaled if a reload changed the limit: the time it represents is kept.
    const owed = e.limit === limit ? e.debt : e.debt * limit / e.limit;
    const at = Math.max(e.at, now);
    const debt = Math.max(0, owed - (at - e.at) * limit);
    const capacity = windowMs * limit;
    const newDebt = debt + windowMs;
    if (newDebt > capacity) {
      const used = Math.min(limit, Math.ceil(debt / windowMs));
      const ahead = at - now;
      return { allowed: false, remaining: 0, resetMs: ahead + debt / limit, retryAfterMs: ahead + (newDebt - capacity) / limit, used };
    }
    if (consume) { e.at = at; e.debt = newDebt; e.limit = limit; }
    const remaining = Math.floor((capacity - newDebt) / windowMs);
    return { allowed: true, remaining, resetMs: at - now + newDebt / limit, retryAfterMs: 0, used: limit - remaining };
  }

  sweep(now: number): void {
    for (const [key, e] of this.entries) {
      const stale = e.kind === 'gcra' ? e.at + e.debt / e.limit <= now
        : e.kind === 'quota' ? e.periodEnd <= now
        : e.stamps.length === 0 || e.stamps[e.stamps.length - 1]! <= now - e.windowMs;
      if (stale) this.entries.delete(key);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
