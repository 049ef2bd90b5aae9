import { performance } from 'node:perf_hooks';
import type { Check, CheckRecord, Deny, RequestContext, Verdict } from './types.ts';

export interface Authenticator extends Check {
  /** The WWW-Authenticate challenge this authenticator offers when no credential came. */
  readonly challenge: string;
}

export interface ChainOutcome {
  readonly records: CheckRecord[];
  /** The first deny and the id of the check that issued it; null when every check passed. */
  readonly denial: { readonly checkId: string; readonly verdict: Deny } | null;
}

export interface ChainOptions {
  /** Check ids or phase names to bypass (simulate --skip): recorded, never evaluated. */
  readonly skip?: ReadonlySet<string>;
}

export interface CompiledChain {
  readonly checks: readonly Check[];
  /** Challenges of the route's authenticators, joined for a credential_missing answer. */
  readonly challenges: readonly string[];
  readonly hasAuthn: boolean;
}

const missingSource = { file: '(built-in)', line: 0, path: 'authn' };

/**
 * Runs a route's ordered checks. Stays synchronous until a check returns a promise,
 * so the common all-sync chain allocates no promises.
 */
export function runChain(chain: CompiledChain, ctx: RequestContext, options?: ChainOptions): ChainOutcome | Promise<ChainOutcome> {
  const state: RunState = { records: [], authenticated: false, authnSeen: false };
  return step(chain, ctx, options, state, 0);
}

interface RunState {
  records: CheckRecord[];
  authenticated: boolean;
  authnSeen: boolean;
}

function step(chain: CompiledChain, ctx: RequestContext, options: ChainOptions | undefined, state: RunState, start: number): ChainOutcome | Promise<ChainOutcome> {
  const { checks } = chain;
  for (let i = start; i < checks.length; i++) {
    const check = checks[i]!;
    const closing = closeAuthnIfLeaving(chain, ctx, state, check);
    if (closing) return closing;
    if (check.phase === 'authn') {
      state.authnSeen = true;
      if (state.authenticated) {
        state.records.push({ id: check.id, phase: check.phase, outcome: 'not_run', micros: 0 });
        continue;
      }
    }
    if (options?.skip && (options.skip.has(check.id) || options.skip.has(check.phase))) {
      state.records.push({ id: check.id, phase: check.phase, outcome: 'bypassed', source: check.source, micros: 0 });
      if (check.phase === 'authn') state.authenticated = state.authenticated || ctx.identity !== null;
      continue;
    }
    const t0 = performance.now();
    const verdict = check.evaluate(ctx);
    if (verdict instanceof Promise) {
      return verdict.then((v) => {
        const done = record(check, v, t0, ctx, state);
        return done ?? step(chain, ctx, options, state, i + 1);
      });
    }
    const done = record(check, verdict, t0, ctx, state);
    if (done) return done;
  }
  return closeAuthnIfLeaving(chain, ctx, state, null) ?? { records: state.records, denial: null };
}

function record(check: Check, verdict: Verdict, t0: number, ctx: RequestContext, state: RunState): ChainOutcome | null {
  const micros = Math.round((performance.now() - t0) * 1000);
  if (verdict.kind === 'deny') {
    state.records.push({
      id: check.id, phase: check.phase, outcome: 'deny', code: verdict.code, evidence: verdict.evidence,
      ...(verdict.detail === undefined ? {} : { detail: verdict.detail }),
      source: check.source, ...(verdict.rule ? { rule: verdict.rule } : {}), micros,
    });
    return { records: state.records, denial: { checkId: check.id, verdict } };
  }
  // Passing checks are logged without their config location: explain needs it only for
  // the refusing one, and it is the bulk of every stored trace.
  state.records.push(verdict.evidence
    ? { id: check.id, phase: check.phase, outcome: verdict.kind, evidence: verdict.evidence, micros }
    : { id: check.id, phase: check.phase, outcome: verdict.kind, micros });
  if (check.phase === 'authn' && verdict.kind === 'continue' && ctx.identity) state.authenticated = true;
  return null;
}

/** When the authn phase ends with every authenticator skipping, the request had no credential. */
function closeAuthnIfLeaving(chain: CompiledChain, ctx: RequestContext, state: RunState, next: Check | null): ChainOutcome | null {
  if (!chain.hasAuthn || !state.authnSeen || state.authenticated) return null;
  if (next && next.phase === 'authn') return null;
  if (state.records.some((r) => r.phase === 'authn' && r.outcome === 'bypassed')) return null;
  const verdict: Deny = {
    kind: 'deny', code: 'credential_missing',
    evidence: { looked_for: chain.challenges.map((c) => c.split(' ')[0] ?? c) },
    detail: 'This route needs a credential and none was sent.',
    headers: { 'www-authenticate': chain.challenges.join(', ') },
  };
  state.records.push({ id: 'authn', phase: 'authn', outcome: 'deny', code: 'credential_missing', evidence: verdict.evidence, ...(verdict.detail ? { detail: verdict.detail } : {}), source: missingSource, micros: 0 });
  void ctx;
  return { records: state.records, denial: { checkId: 'authn', verdict } };
}
