import type { CounterStore, LimitDecision } from '../limits/counter-store.ts';
import type { FailMode } from '../limits/fail-mode.ts';
import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';
import { limitSubject, settleLimitDecision, type LimitSubject } from './rate-limit.ts';

export interface QuotaOptions {
  readonly policy: string;
  readonly limit: number;
  readonly period: 'day' | 'month';
  readonly by: LimitSubject;
  readonly routeId: string;
  readonly store: CounterStore;
  readonly source: ConfigLocation;
  /** When the shared counter store is unreachable (default open). */
  readonly failMode?: FailMode;
}

/** Calendar periods in UTC: a day quota resets at 00:00Z, a month quota on the 1st. */
export function periodBounds(period: 'day' | 'month', now: number): { id: string; start: number; end: number } {
  const d = new Date(now);
  if (period === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { id: d.toISOString().slice(0, 10), start, end: start + 86_400_000 };
  }
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { id: d.toISOString().slice(0, 7), start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

export function createQuotaCheck(options: QuotaOptions): Check {
  const { policy, limit, period, by, routeId, store } = options;
  const failMode = options.failMode ?? 'open';
  let bounds = periodBounds(period, 0);
  const conclude = (ctx: RequestContext, subject: { by: string; value: string }, end: number, decided: LimitDecision): Verdict => {
    const settled = settleLimitDecision(failMode, decided, policy, subject);
    if ('deny' in settled) return settled.deny;
    const { decision: d, degraded } = settled;
    const resetAt = new Date(end).toISOString();
    const evidence = { ...degraded, policy, limit, period, by: subject.by, subject: subject.value, used: d.used, remaining: d.remaining, resets_at: resetAt };
    if (d.allowed) return { kind: 'continue', evidence };
    return {
      kind: 'deny', code: 'quota_exhausted', evidence,
      detail: `The ${period === 'day' ? 'daily' : 'monthly'} quota of ${limit} requests per ${subject.by} is used up; it resets at ${resetAt}.`,
      headers: { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) },
    };
  };
  return {
    id: `quota:${policy}`,
    phase: 'limit',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict | Promise<Verdict> {
      const subject = limitSubject(by, ctx, routeId);
      // The period changes once a day (or month): its bounds are computed again only then.
      if (ctx.now < bounds.start || ctx.now >= bounds.end) bounds = periodBounds(period, ctx.now);
      const { id, end } = bounds;
      const d = store.quota(`q|${policy}|${id}|${subject.by}|${subject.value}`, limit, end, ctx.now, !ctx.dryRun);
      return d instanceof Promise ? d.then((x) => conclude(ctx, subject, end, x)) : conclude(ctx, subject, end, d);
    },
  };
}
