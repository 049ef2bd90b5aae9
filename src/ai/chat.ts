import type { CheckRecord, Evidence } from '../pipeline/types.ts';
import { admit } from './admit.ts';
import { callWithFallbacks, type ChainResult } from './call-chain.ts';
import { costNano, type CompiledModel } from './compile-ai.ts';
import type { AiExchange, AiOutcome, AiRoute } from './outcome.ts';
import { ProviderStreamError, type ChatOutcome, type ProviderFailure } from './provider.ts';
import { sendAiProblem, sendJson, type AiProblem } from './respond.ts';
import { sseData, sseDone } from './sse.ts';
import type { ChatChunk, ChatCompletion, ChatRequest, Usage } from './types.ts';

/** An upper bound on prompt tokens: no tokenizer yields more tokens than UTF-8 bytes of the JSON carrying them. */
export function promptBound(req: ChatRequest): number {
  return Buffer.byteLength(JSON.stringify(req.messages)) + (req.tools.length ? Buffer.byteLength(JSON.stringify(req.tools)) : 0);
}

export function refusal(x: AiExchange, problem: AiProblem, record: CheckRecord, extra: Evidence = {}, upstream: AiOutcome['upstream'] = null): AiOutcome {
  const status = x.res.headersSent ? 0 : sendAiProblem(x.res, problem, x.requestId, x.verbosity, x.typeBase, x.responseHeaders);
  return { status, code: problem.code, answeredBy: 'gateway', record, upstream, extra };
}

export function providerProblem(f: ProviderFailure, model: CompiledModel): AiProblem {
  const who = `provider "${model.provider.name}" (${model.provider.config.type})`;
  // The provider's message helps the caller with a bad request; for a refused key it is the
  // operator's business and stays in the trace.
  const said = f.code === 'provider_bad_request' || f.code === 'provider_rate_limited' ? ` It said: ${f.providerError}` : '';
  const detail = {
    provider_rate_limited: `The model ${who} is rate limiting this gateway (HTTP ${f.status ?? '?'}).${said}`,
    provider_auth_failed: `The model ${who} refused this gateway's credentials (HTTP ${f.status ?? '?'}); the operator must fix the provider key.`,
    provider_unavailable: `The model ${who} is unavailable${f.status ? ` (HTTP ${f.status})` : ' (no answer)'}.`,
    provider_bad_request: `The model ${who} rejected the request (HTTP ${f.status ?? '?'}).${said}`,
    provider_credential_unavailable: `The gateway could not read its key for ${who}.`,
  }[f.code];
  return {
    code: f.code, detail,
    evidence: { provider: model.provider.name, provider_type: model.provider.config.type, provider_model: model.providerModel, provider_status: f.status, provider_error: f.providerError },
    ...(f.retryAfter && f.code === 'provider_rate_limited' ? { headers: { 'retry-after': f.retryAfter } } : {}),
  };
}

export function upstreamOf(r: ChainResult<unknown>, status: number | null, headersMs: number | null, aborted: string | null): AiOutcome['upstream'] {
  const last = r.attempts.at(-1);
  const errorSample = last?.error ?? null;
  return { name: `ai:${r.model.provider.name}`, attempts: r.attempts, status, headersMs, errorSample: status !== null && status < 400 ? null : errorSample, panic: false, aborted };
}

const outputCap = (req: { maxTokens: number | null }) => (m: CompiledModel) => req.maxTokens ?? m.maxOutputTokens;

/** How a prompt API turns the model's completion into its own answer. */
export type Presenter = (c: ChatCompletion) => { ok: true; payload: unknown } | { ok: false; problem: AiProblem };

export async function serveChat(route: AiRoute, x: AiExchange, req: ChatRequest, present?: Presenter): Promise<AiOutcome> {
  const runtime = route.runtime!;
  const a = admit(route, x, req.model, 'chat', promptBound(req), outputCap(req));
  if (!a.ok) return refusal(x, a.problem, a.record, { ai_model: req.model });
  const controller = new AbortController();
  const onClose = () => { if (!x.res.writableFinished) controller.abort(); };
  x.res.once('close', onClose);
  const t0 = performance.now();
  const r = await callWithFallbacks<ChatRequest, Exclude<ChatOutcome, ProviderFailure>>(a.candidates, runtime, req, outputCap(req), controller.signal,
    (m, call) => m.provider.adapter.chat(call));
  const headersMs = Math.round((performance.now() - t0) * 1000) / 1000;
  const served = r.model;
  const extraBase: Evidence = { ai_model: req.model, ai_served_by: served.name, ai_provider: served.provider.name, stream: req.stream, ...(served.name !== req.model ? { fallback_from: req.model } : {}) };
  const settle = (usage: Usage | null, complete: boolean): Record<string, Evidence[string]> => {
    const p = usage?.prompt_tokens ?? 0;
    const c = usage?.completion_tokens ?? 0;
    const nano = costNano(served.price, p, c);
    runtime.ledger.settle(a.reservation, p + c, nano);
    const id = x.ctx.identity;
    runtime.usage.record({
      requestId: x.requestId, ts: x.ctx.now, tenantId: id?.tenantId ?? null, consumerId: id?.consumerId ?? null, credentialId: id?.credentialId ?? null,
      model: served.name, provider: served.provider.name, providerModel: served.providerModel, endpoint: route.prompt ? 'prompt' : 'chat',
      promptTokens: p, completionTokens: c, costNano: nano, stream: req.stream, complete,
    });
    return { prompt_tokens: p, completion_tokens: c, cost_usd: nano / 1e9, usage_complete: complete };
  };
  const outcome = r.outcome;
  if (outcome.kind === 'failure') {
    x.res.off('close', onClose);
    runtime.ledger.settle(a.reservation, 0, 0);
    if (controller.signal.aborted) {
      return { status: 499, code: null, answeredBy: 'none', record: a.record, upstream: upstreamOf(r, null, headersMs, 'client closed the connection'), extra: extraBase };
    }
    const problem = providerProblem(outcome, served);
    const evidence: Evidence = { ...problem.evidence, ...(a.skipped.length ? { fallbacks_not_allowed: a.skipped } : {}), ...(r.attempts.length > 1 ? { tried: r.attempts.map((t) => t.target) } : {}) };
    const rec: CheckRecord = { id: 'ai-provider', phase: 'limit', outcome: 'deny', code: outcome.code, evidence, detail: problem.detail, source: served.source, micros: 0 };
    return refusal(x, problem, rec, extraBase, upstreamOf(r, outcome.status, headersMs, null));
  }
  const headers: (readonly [string, string])[] = [...x.responseHeaders, ['x-pinpoint-model', served.name], ['x-pinpoint-provider', served.provider.name]];
  if (outcome.kind === 'completion') {
    x.res.off('close', onClose);
    const c = outcome.completion;
    const answerChars = (c.choices[0]?.message.content ?? '').length + (c.choices[0]?.message.tool_calls ?? []).reduce((n, t) => n + t.function.arguments.length, 0);
    const usage = settle(c.usage ?? estimateUsage(req, 1, answerChars), c.usage !== undefined);
    if (!c.usage) usage.usage_estimated = true;
    const shown = present ? present(c) : { ok: true as const, payload: c };
    if (!shown.ok) {
      const rec: CheckRecord = { id: 'ai-output', phase: 'limit', outcome: 'deny', code: shown.problem.code, evidence: shown.problem.evidence, detail: shown.problem.detail, source: route.prompt?.source ?? served.source, micros: 0 };
      return refusal(x, shown.problem, rec, { ...extraBase, ...usage }, upstreamOf(r, 200, headersMs, null));
    }
    sendJson(x.res, 200, shown.payload, headers);
    return { status: 200, code: null, answeredBy: 'upstream', record: a.record, upstream: upstreamOf(r, 200, headersMs, null), extra: { ...extraBase, ...usage, finish_reason: c.choices[0]?.finish_reason ?? null } };
  }
  const h: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
  for (const [k, v] of headers) h[k] = v;
  x.res.writeHead(200, h);
  x.res.flushHeaders();
  let usage: Usage | null = null;
  let finish: string | null = null;
  let chunks = 0;
  let streamedChars = 0;
  let broke: ProviderFailure | null = null;
  // Chunks handled in the same turn of the event loop (one network read from the provider
  // often holds many) leave in one socket write instead of one write per chunk.
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0 || x.res.destroyed) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    pendingBytes = 0;
    x.res.write(text);
  };
  const write = (text: string): void => {
    pending.push(text);
    pendingBytes += text.length;
    // A source that never yields to the event loop (an in-process provider) is flushed by size.
    if (pendingBytes >= 65_536) flush();
    else if (!scheduled) { scheduled = true; setImmediate(flush); }
  };
  try {
    for await (const chunk of outcome.chunks) {
      if (x.res.destroyed) break;
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) if (ch.finish_reason) finish = ch.finish_reason;
      let out: ChatChunk = chunk;
      if (!req.includeUsage && chunk.usage !== undefined) {
        if (chunk.choices.length === 0) continue;
        const { usage: _drop, ...rest } = chunk;
        out = rest;
      }
      chunks++;
      for (const ch of chunk.choices) {
        streamedChars += ch.delta.content?.length ?? 0;
        for (const tc of ch.delta.tool_calls ?? []) streamedChars += tc.function?.arguments?.length ?? 0;
      }
      write(sseData(out));
      if (x.res.writableNeedDrain) await drained(x.res);
    }
  } catch (err) {
    if (err instanceof ProviderStreamError) broke = err.failure;
    else if (!controller.signal.aborted) broke = { kind: 'failure', code: 'provider_unavailable', status: 200, providerError: `${(err as Error).name}: ${(err as Error).message}`.slice(0, 300), retryAfter: null };
  }
  flush();
  x.res.off('close', onClose);
  const gone = x.res.destroyed && !x.res.writableFinished;
  if (broke && !gone) {
    const p = providerProblem(broke, served);
    x.res.end(sseData({ error: { message: p.detail, type: p.code, code: p.code, param: null } }));
  } else if (!gone) {
    x.res.end(sseDone);
  }
  // A stream cut before the provider's final usage (client gone, provider broke) was still
  // generated and billed: charge an estimate rather than nothing, or leaving early would be free.
  const estimated = usage === null && chunks > 0;
  const used = settle(usage ?? (estimated ? estimateUsage(req, chunks, streamedChars) : null), usage !== null && !broke && !gone);
  if (estimated) used.usage_estimated = true;
  const extra: Evidence = { ...extraBase, ...used, chunks, finish_reason: finish, ...(broke ? { stream_error: `${broke.code}: ${broke.providerError}`.slice(0, 300) } : {}) };
  if (gone) return { status: 499, code: null, answeredBy: 'none', record: a.record, upstream: upstreamOf(r, 200, headersMs, 'client closed the connection'), extra };
  return { status: 200, code: null, answeredBy: 'upstream', record: a.record, upstream: upstreamOf(r, 200, headersMs, broke ? 'provider stream broke' : null), extra };
}

/**
 * Usage when the provider never reported it: about 4 characters per token (OpenAI's rule of
 * thumb), at least one token per content chunk; the prompt from its text.
 */
export function estimateUsage(req: ChatRequest, chunks: number, streamedChars: number): Usage {
  let promptChars = 0;
  for (const m of req.messages) promptChars += typeof m.content === 'string' ? m.content.length : m.content ? JSON.stringify(m.content).length : 0;
  const prompt = Math.ceil(promptChars / 4) + 3 * req.messages.length;
  const completion = Math.max(chunks, Math.ceil(streamedChars / 4));
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function drained(res: AiExchange['res']): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.once('drain', done);
    res.once('close', done);
  });
}
