import type { LimitDecision } from './counter-store.ts';
import type { Deny, Evidence } from '../pipeline/types.ts';

export type FailMode = 'open' | 'closed' | 'local';

/**
 * What a limit check does with a decision taken while the shared counter was unreachable.
 * Returns the deny of a closed route, or the evidence that records the degraded decision
 * (the trace always says the limiter was unavailable, whatever the mode).
 */
export function applyFailMode(mode: FailMode, d: LimitDecision, evidence: Evidence): { deny: Deny } | { decision: LimitDecision; evidence: Evidence } {
  const degraded = { ...evidence, limiter_unavailable: d.unavailable ?? 'unavailable', fail_mode: mode };
  if (mode === 'closed') {
    return {
      deny: {
        kind: 'deny', code: 'limiter_unavailable', evidence: degraded,
        detail: 'The shared limiter cannot be reached and this route fails closed; retry shortly.',
        headers: { 'retry-after': '1' },
      },
    };
  }
  // open: admitted whatever the local fallback counted; local: the fallback's answer stands.
  if (mode === 'open') return { decision: { ...d, allowed: true, retryAfterMs: 0 }, evidence: degraded };
  return { decision: d, evidence: degraded };
}
