import type { CheckRecord, Evidence } from '../pipeline/types.ts';
import { accessFor, allowedList, mayUse } from './access.ts';
import { costNano, type CompiledModel } from './compile-ai.ts';
import type { Meter, Reservation } from './quota-ledger.ts';
import type { AiProblem } from './respond.ts';
import type { AiExchange, AiRoute } from './outcome.ts';

export type Admitted =
  | { readonly ok: true; readonly candidates: readonly CompiledModel[]; readonly reservation: Reservation; readonly skipped: readonly string[]; readonly record: CheckRecord }
  | { readonly ok: false; readonly problem: AiProblem; readonly record: CheckRecord };

const usd = (nano: number): string => `$${(nano / 1e9).toFixed(6).replace(/0+$/, '').replace(/\.$/, '')}`;

/**
 * The AI layer's own checks, after the route's chain: the model exists and is of the right
 * kind, the app may use it (its allow-list), and its quotas admit the request's worst case.
 * Fallback models the app may not use are skipped, never tried.
 */
export function admit(route: AiRoute, x: AiExchange, modelName: string, kind: 'chat' | 'embeddings', promptBound: number, outputCap: (m: CompiledModel) => number): Admitted {
  const { ai } = route;
  const t0 = performance.now();
  const micros = () => Math.round((performance.now() - t0) * 1000);
  const identity = x.ctx.identity;
  const deny = (phase: CheckRecord['phase'], problem: AiProblem, source = route.source): Admitted => ({
    ok: false, problem,
    record: { id: phase === 'limit' ? 'ai-quota' : 'ai-model-access', phase, outcome: 'deny', code: problem.code, evidence: problem.evidence, detail: problem.detail, source, micros: micros() },
  });
  const model = ai.models.get(modelName);
  const access = accessFor(ai, identity);
  if (!model) {
    const visible = allowedList(ai, access);
    return deny('authz', { code: 'model_not_found', detail: `Model "${modelName.slice(0, 100)}" is not served here${visible.length ? `; this app may use: ${visible.join(', ')}` : ''}.`, evidence: { model: modelName.slice(0, 100), known_models: [...ai.models.keys()] } }, ai.accessSource);
  }
  if (model.kind !== kind) {
    return deny('authz', { code: 'ai_request_invalid', detail: `Model "${modelName}" is ${model.kind === 'chat' ? 'a chat' : 'an embeddings'} model; it cannot serve this endpoint.`, evidence: { model: modelName, kind: model.kind, endpoint: kind } }, model.source);
  }
  if (!mayUse(access, modelName)) {
    const consumer = identity?.consumerId ?? null;
    const allowed = allowedList(ai, access);
    const evidence: Evidence = { model: modelName, consumer, tenant: identity?.tenantId ?? null, credential: identity?.credentialId ?? null, allowed, access_entry: access ? 'present' : 'none' };
    return deny('authz', {
      code: 'model_not_allowed', evidence,
      detail: access ? `This app may not use model "${modelName}"; it may use: ${allowed.join(', ') || 'none'}.` : `This app may not use model "${modelName}": no AI model is allowed for it.`,
    }, access?.source ?? ai.accessSource);
  }
  const skipped: string[] = [];
  const candidates: CompiledModel[] = [model];
  for (const f of model.fallbacks) {
    if (mayUse(access, f)) candidates.push(ai.models.get(f)!);
    else skipped.push(f);
  }
  const runtime = route.runtime!;
  const meters = identity ? runtime.ledger.meters(ai.quotas, identity, modelName, x.ctx.now) : [];
  const worstTokens = Math.max(...candidates.map((m) => promptBound + outputCap(m)));
  const worstNano = Math.max(...candidates.map((m) => costNano(m.price, promptBound, outputCap(m))));
  const a = runtime.ledger.admit(meters, (m: Meter) => (m.unit === 'tokens' ? worstTokens : worstNano));
  if (!a.ok) {
    const m = a.meter;
    const resetsAt = new Date(m.periodEnd).toISOString();
    const amount = (n: number) => (m.unit === 'tokens' ? `${n} tokens` : usd(n));
    const period = m.quota.period === 'day' ? 'daily' : 'monthly';
    const retry = a.held ? 1 : Math.max(1, Math.ceil((m.periodEnd - x.ctx.now) / 1000));
    return deny('limit', {
      code: 'quota_exhausted',
      detail: a.held
        ? `The ${period} ${m.unit === 'tokens' ? 'token' : 'spend'} quota "${m.quota.id}" of ${amount(m.limit)} per ${m.subjectBy} is nearly used (${amount(a.used)} used) and the rest is held by requests in progress; retry in a moment. It resets at ${resetsAt}.`
        : `The ${period} ${m.unit === 'tokens' ? 'token' : 'spend'} quota "${m.quota.id}" of ${amount(m.limit)} per ${m.subjectBy} is used up (${amount(a.used)} used); it resets at ${resetsAt}.`,
      evidence: { quota: m.quota.id, unit: m.unit, limit: m.limit, used: a.used, reserved: a.reserved, by: m.subjectBy, subject: m.subject, resets_at: resetsAt, held_by_in_flight: a.held },
      headers: { 'retry-after': String(retry) },
    }, m.quota.source);
  }
  const evidence: Evidence = { model: modelName, ...(skipped.length ? { fallbacks_not_allowed: skipped } : {}), ...(meters.length ? { quotas: meters.map((m) => `${m.quota.id}:${m.unit}`) } : {}) };
  return { ok: true, candidates, reservation: a.reservation, skipped, record: { id: 'ai', phase: 'authz', outcome: 'continue', evidence, micros: micros() } };
}
