import type { CheckRecord } from '../pipeline/types.ts';
import { admit } from './admit.ts';
import { callWithFallbacks } from './call-chain.ts';
import { providerProblem, refusal, upstreamOf } from './chat.ts';
import { costNano } from './compile-ai.ts';
import type { AiExchange, AiOutcome, AiRoute } from './outcome.ts';
import type { EmbeddingsOutcome, ProviderFailure } from './provider.ts';
import { sendJson } from './respond.ts';
import type { EmbeddingsRequest } from './types.ts';

/** POST /v1/embeddings: same checks, fallbacks and accounting as chat; no output tokens. */
export async function serveEmbeddings(route: AiRoute, x: AiExchange, req: EmbeddingsRequest): Promise<AiOutcome> {
  const runtime = route.runtime!;
  const bound = req.input.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
  const a = admit(route, x, req.model, 'embeddings', bound, () => 0);
  if (!a.ok) return refusal(x, a.problem, a.record, { ai_model: req.model });
  const controller = new AbortController();
  const r = await callWithFallbacks<EmbeddingsRequest, Exclude<EmbeddingsOutcome, ProviderFailure>>(a.candidates, runtime, req, () => 0, controller.signal,
    (m, call) => m.provider.adapter.embed(call));
  const served = r.model;
  const extra = { ai_model: req.model, ai_served_by: served.name, ai_provider: served.provider.name };
  if (r.outcome.kind === 'failure') {
    runtime.ledger.settle(a.reservation, 0, 0);
    const problem = providerProblem(r.outcome, served);
    const rec: CheckRecord = { id: 'ai-provider', phase: 'limit', outcome: 'deny', code: r.outcome.code, evidence: problem.evidence, detail: problem.detail, source: served.source, micros: 0 };
    return refusal(x, problem, rec, extra, upstreamOf(r, r.outcome.status, null, null));
  }
  const { vectors, usage } = r.outcome.result;
  const nano = costNano(served.price, usage.prompt_tokens, 0);
  runtime.ledger.settle(a.reservation, usage.prompt_tokens, nano);
  const id = x.ctx.identity;
  runtime.usage.record({
    requestId: x.requestId, ts: x.ctx.now, tenantId: id?.tenantId ?? null, consumerId: id?.consumerId ?? null, credentialId: id?.credentialId ?? null,
    model: served.name, provider: served.provider.name, providerModel: served.providerModel, endpoint: 'embeddings',
    promptTokens: usage.prompt_tokens, completionTokens: 0, costNano: nano, stream: false, complete: true,
  });
  sendJson(x.res, 200, {
    object: 'list', model: served.name,
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: req.raw.encoding_format === 'base64' ? float32Base64(v) : v })),
    usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens },
  }, [...x.responseHeaders, ['x-pinpoint-model', served.name], ['x-pinpoint-provider', served.provider.name]]);
  return { status: 200, code: null, answeredBy: 'upstream', record: a.record, upstream: upstreamOf(r, 200, null, null), extra: { ...extra, prompt_tokens: usage.prompt_tokens, cost_usd: nano / 1e9 } };
}

/** OpenAI's base64 encoding: the vector as little-endian float32s (what the official SDKs ask for by default). */
function float32Base64(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}
