import type { CounterStore, LimitDecision, RateRule } from '../limits/counter-store.ts';
import { applyFailMode, type FailMode } from '../limits/fail-mode.ts';
import type { Check, ConfigLocation, Deny, Evidence, RateLimitReport, RequestContext, Verdict } from '../pipeline/types.ts';

export type LimitSubject = 'key' | 'consumer' | 'tenant' | 'ip' | 'route';

/** Who a counter belongs to. Without an identity, per-identity limits fall back to the client IP. */
export function limitSubject(by: LimitSubject, ctx: RequestContext, routeId: string): { by: LimitSubject; value: string } {
  const id = ctx.identity;
  switch (by) {
    case 'key': if (id) return { by, value: id.credentialId }; break;
    case 'consumer': if (id) return { by, value: id.consumerId ?? id.credentialId }; break;
    case 'tenant': if (id?.tenantId) return { by, value: id.tenantId }; if (id) return { by: 'consumer', value: id.consumerId ?? id.credentialId }; break;
    case 'route': return { by, value: routeId };
    case 'ip': break;
  }
  return { by: 'ip', value: ctx.clientIp };
}

/**
 * The decision a limit check goes on: as the store took it, or, when the shared store was
 * unreachable, as the fail mode settles it (with the evidence that says so), or the deny of
 * a route that fails closed.
 */
export function settleLimitDecision(failMode: FailMode, d: LimitDecision, policy: string, subject: { by: string; value: string }): { deny: Deny } | { decision: LimitDecision; degraded: Evidence | null } {
  if (d.unavailable === undefined) return { decision: d, degraded: null };
  const applied = applyFailMode(failMode, d, { policy, by: subject.by, subject: subject.value });
  return 'deny' in applied ? applied : { decision: applied.decision, degraded: applied.evidence };
}

export interface RateLimitOptions {
  readonly policy: string;
  readonly rule: RateRule;
  readonly by: LimitSubject;
  readonly routeId: string;
  readonly store: CounterStore;
  readonly source: ConfigLocation;
  /** When the shared counter store is unreachable (default open). */
  readonly failMode?: FailMode;
}

export function createRateLimitCheck(options: RateLimitOptions): Check {
  const { policy, rule, by, routeId, store } = options;
  const windowSeconds = Math.round(rule.windowMs / 1000);
  const failMode = options.failMode ?? 'open';
  const conclude = (ctx: RequestContext, subject: { by: string; value: string }, decided: LimitDecision): Verdict => {
    const settled = settleLimitDecision(failMode, decided, policy, subject);
    if ('deny' in settled) return settled.deny;
    const { decision: d, degraded } = settled;
    const report: RateLimitReport = { policy, limit: rule.limit, remaining: d.remaining, resetSeconds: Math.ceil(d.resetMs / 1000), windowSeconds };
    ctx.rateLimits.push(report);
    const evidence = { ...degraded, policy, algorithm: rule.algorithm, limit: rule.limit, window_seconds: windowSeconds, by: subject.by, subject: subject.value, used: d.used, remaining: d.remaining };
    if (d.allowed) return { kind: 'continue', evidence };
    const retryAfter = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    return {
      kind: 'deny', code: 'rate_limited', evidence: { ...evidence, retry_after_seconds: retryAfter },
      detail: `Limit of ${rule.limit} requests per ${windowSeconds} s per ${subject.by} reached; retry in ${retryAfter} s.`,
      headers: { 'retry-after': String(retryAfter) },
    };
  };
  return {
    id: `rate-limit:${policy}`,
    phase: 'limit',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict | Promise<Verdict> {
      const subject = limitSubject(by, ctx, routeId);
      const d = store.rate(`rl|${policy}|${subject.by}|${subject.value}`, rule, ctx.now, !ctx.dryRun);
      return d instanceof Promise ? d.then((x) => conclude(ctx, subject, x)) : conclude(ctx, subject, d);
    },
  };
}
