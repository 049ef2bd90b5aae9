import type { ProviderConfig } from '../ai-schema.ts';
import { failure, parseStreamEvent } from '../provider-errors.ts';
import { postJson } from '../provider-http.ts';
import { ProviderStreamError, type ChatOutcome, type EmbeddingsOutcome, type ProviderAdapter, type ProviderCall, type ProviderFailure } from '../provider.ts';
import { readSse } from '../sse.ts';
import { usageOf, type ChatChunk, type ChatCompletion, type ChatRequest, type EmbeddingsRequest, type FinishReason, type Json, type JsonObject, type ToolCall, type Usage } from '../types.ts';
import { dataUrl, imageUrlOf, mergeTurns, parseArguments, systemText, textOf } from './translate-common.ts';

// Google Gemini API: POST /v1beta/models/{model}:generateContent, and
// :streamGenerateContent?alt=sse for streams (each SSE event is a whole
// GenerateContentResponse; no [DONE]). Key in x-goog-api-key. Roles are user and model;
// tool calls are functionCall parts and tool results functionResponse parts, matched by name.

interface Turn { role: 'user' | 'model'; parts: JsonObject[] }

export function toGeminiRequest(req: ChatRequest, maxTokens: number): JsonObject {
  const callNames = new Map<string, string>();
  const turns: Turn[] = [];
  for (const m of req.messages) {
    if (m.role === 'system' || m.role === 'developer') continue;
    if (m.role === 'tool') {
      const text = textOf(m.content);
      let response: JsonObject;
      try {
        const v = JSON.parse(text) as Json;
        response = v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { result: v };
      } catch { response = { result: text }; }
      turns.push({ role: 'user', parts: [{ functionResponse: { name: callNames.get(m.tool_call_id ?? '') ?? 'unknown', response } }] });
      continue;
    }
    const parts: JsonObject[] = [];
    if (typeof m.content === 'string') { if (m.content !== '') parts.push({ text: m.content }); }
    else if (m.content) {
      for (const p of m.content) {
        if (p.type === 'text' && typeof p.text === 'string') parts.push({ text: p.text });
        const url = imageUrlOf(p);
        const d = url ? dataUrl(url) : null;
        if (d) parts.push({ inlineData: { mimeType: d.mediaType, data: d.data } });
        else if (url) parts.push({ fileData: { fileUri: url } });
      }
    }
    for (const tc of m.tool_calls ?? []) {
      callNames.set(tc.id, tc.function.name);
      parts.push({ functionCall: { name: tc.function.name, args: parseArguments(tc.function.arguments) } });
    }
    turns.push({ role: m.role === 'assistant' ? 'model' : 'user', parts });
  }
  const body: JsonObject = { contents: mergeTurns(turns).map((t) => ({ role: t.role, parts: t.parts })) };
  const system = systemText(req.messages);
  if (system !== null) body.systemInstruction = { parts: [{ text: system }] };
  if (req.tools.length) {
    body.tools = [{ functionDeclarations: req.tools.map((t) => ({ name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), ...(t.function.parameters ? { parameters: t.function.parameters } : {}) })) }];
  }
  const tc = req.toolChoice;
  if (tc !== null) {
    body.toolConfig = { functionCallingConfig: tc === 'auto' ? { mode: 'AUTO' } : tc === 'none' ? { mode: 'NONE' } : tc === 'required' ? { mode: 'ANY' } : { mode: 'ANY', allowedFunctionNames: [tc.function.name] } };
  }
  const gen: JsonObject = { maxOutputTokens: maxTokens };
  if (req.temperature !== null) gen.temperature = req.temperature;
  if (req.topP !== null) gen.topP = req.topP;
  if (req.stop.length) gen.stopSequences = [...req.stop];
  const format = req.raw.response_format as { type?: string; json_schema?: { schema?: JsonObject } } | undefined;
  if (format?.type === 'json_object' || format?.type === 'json_schema') gen.responseMimeType = 'application/json';
  if (format?.type === 'json_schema' && format.json_schema?.schema) gen.responseJsonSchema = format.json_schema.schema;
  body.generationConfig = gen;
  return body;
}

export function finishFromGemini(reason: string | undefined, hasCalls: boolean): FinishReason | null {
  if (!reason || reason === 'FINISH_REASON_UNSPECIFIED') return null;
  if (reason === 'STOP') return hasCalls ? 'tool_calls' : 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  if (['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY'].includes(reason)) return 'content_filter';
  return 'stop';
}

interface GeminiPart { text?: string; thought?: boolean; functionCall?: { id?: string; name: string; args?: JsonObject } }
interface GeminiResponse {
  candidates?: { content?: { parts?: GeminiPart[] }; finishReason?: string }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number; totalTokenCount?: number };
  promptFeedback?: { blockReason?: string };
  modelVersion?: string;
  responseId?: string;
  error?: { code?: number; message?: string; status?: string };
}

const usageFrom = (u: GeminiResponse['usageMetadata']): Usage | null => (u ? usageOf(u.promptTokenCount ?? 0, (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0)) : null);

function partsOf(r: GeminiResponse, callBase: number): { text: string; calls: ToolCall[] } {
  const parts = r.candidates?.[0]?.content?.parts ?? [];
  const text = parts.filter((p) => typeof p.text === 'string' && !p.thought).map((p) => p.text).join('');
  const calls = parts.filter((p) => p.functionCall).map((p, i): ToolCall => ({
    id: p.functionCall!.id ?? `call_${callBase + i}`, type: 'function', function: { name: p.functionCall!.name, arguments: JSON.stringify(p.functionCall!.args ?? {}) },
  }));
  return { text, calls };
}

export function fromGeminiResponse(r: GeminiResponse, model: string): ChatCompletion {
  const { text, calls } = partsOf(r, 0);
  const finish = r.candidates?.length ? finishFromGemini(r.candidates[0]!.finishReason, calls.length > 0) : r.promptFeedback?.blockReason ? 'content_filter' : null;
  const usage = usageFrom(r.usageMetadata);
  return {
    id: r.responseId ?? `gemini-${Date.now()}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: r.modelVersion ?? model,
    choices: [{ index: 0, message: { role: 'assistant', content: text === '' && calls.length ? null : text, ...(calls.length ? { tool_calls: calls } : {}), refusal: null }, finish_reason: finish, logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

export async function* geminiChunks(events: AsyncIterable<{ data: string }>, model: string, apiKey: string | null): AsyncGenerator<ChatChunk> {
  const created = Math.floor(Date.now() / 1000);
  let id = '';
  let usage: Usage | null = null;
  let calls = 0;
  let first = true;
  for await (const e of events) {
    const r = parseStreamEvent<GeminiResponse>(e.data, apiKey);
    if (r.error) throw new ProviderStreamError(failure(r.error.code === 429 ? 'provider_rate_limited' : 'provider_unavailable', 200, `${r.error.status ?? 'error'}: ${r.error.message ?? ''}`, apiKey));
    id ||= r.responseId ?? `gemini-${Date.now()}`;
    const m = r.modelVersion ?? model;
    usage = usageFrom(r.usageMetadata) ?? usage;
    const { text, calls: found } = partsOf(r, calls);
    const delta: ChatChunk['choices'][number]['delta'] = {
      ...(first ? { role: 'assistant' as const } : {}),
      ...(text !== '' || (first && found.length === 0) ? { content: text } : {}),
      ...(found.length ? { tool_calls: found.map((c, i) => ({ index: calls + i, id: c.id, type: 'function' as const, function: c.function })) } : {}),
    };
    calls += found.length;
    const reason = r.candidates?.[0]?.finishReason;
    const finish = r.candidates?.length ? finishFromGemini(reason, calls > 0) : r.promptFeedback?.blockReason ? 'content_filter' : null;
    if (Object.keys(delta).length || finish) yield { id, object: 'chat.completion.chunk', created, model: m, choices: [{ index: 0, delta, finish_reason: finish }] };
    first = false;
  }
  yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage ?? usageOf(0, 0) };
}

/** Gemini refuses a bad key with 400 INVALID_ARGUMENT ("API key not valid"), not 401: it is still the gateway's key. */
function keyRefused(f: ProviderFailure): ProviderFailure {
  return f.code === 'provider_bad_request' && /API key not valid|API_KEY_INVALID/.test(f.providerError) ? { ...f, code: 'provider_auth_failed' } : f;
}

export function createGeminiAdapter(config: ProviderConfig): ProviderAdapter {
  const base = (config.baseUrl ?? 'https://generativelanguage.googleapis.com').replace(/\/+$/, '');
  const auth = (key: string | null): Record<string, string> => (key ? { 'x-goog-api-key': key } : {});
  return {
    type: 'gemini',
    async chat(call: ProviderCall<ChatRequest>): Promise<ChatOutcome> {
      const path = call.request.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
      const res = await postJson(`${base}/v1beta/models/${encodeURIComponent(call.model)}:${path}`, auth(call.apiKey), toGeminiRequest(call.request, call.maxTokens), call.signal, config.timeoutMs, call.apiKey);
      if (res.kind === 'failure') return keyRefused(res);
      if (!call.request.stream) {
        const r = await res.body.json().catch(() => null) as GeminiResponse | null;
        if (!r || (!r.candidates && !r.promptFeedback)) return failure('provider_unavailable', res.status, 'the provider answered 2xx with a body that is not a GenerateContentResponse', call.apiKey);
        return { kind: 'completion', completion: fromGeminiResponse(r, call.model) };
      }
      return { kind: 'stream', chunks: geminiChunks(readSse(res.body), call.model, call.apiKey) };
    },
    async embed(call: ProviderCall<EmbeddingsRequest>): Promise<EmbeddingsOutcome> {
      const model = `models/${call.model}`;
      const body = { requests: call.request.input.map((text) => ({ model, content: { parts: [{ text }] } })) };
      const res = await postJson(`${base}/v1beta/${model}:batchEmbedContents`, auth(call.apiKey), body, call.signal, config.timeoutMs, call.apiKey);
      if (res.kind === 'failure') return keyRefused(res);
      const j = await res.body.json().catch(() => null) as { embeddings?: { values: number[] }[] } | null;
      if (!j || !Array.isArray(j.embeddings)) return failure('provider_unavailable', res.status, 'the provider answered 2xx with a body that is not an embeddings list', call.apiKey);
      // The embeddings API reports no token counts: usage is recorded as 0 (docs/ai-gateway.md).
      return { kind: 'embeddings', result: { vectors: j.embeddings.map((e) => e.values), usage: { prompt_tokens: 0, total_tokens: 0 } } };
    },
  };
}
