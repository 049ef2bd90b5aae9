import type { ProviderConfig } from '../ai-schema.ts';
import { failure, parseStreamEvent } from '../provider-errors.ts';
import { postJson } from '../provider-http.ts';
import { ProviderStreamError, type ChatOutcome, type ProviderAdapter, type ProviderCall, type ProviderFailureCode } from '../provider.ts';
import { readSse } from '../sse.ts';
import { usageOf, type ChatChunk, type ChatCompletion, type ChatRequest, type ChunkToolCall, type FinishReason, type JsonObject, type ToolCall } from '../types.ts';
import { dataUrl, imageUrlOf, mergeTurns, parseArguments, systemText, textOf } from './translate-common.ts';

// Anthropic Messages API (POST /v1/messages, x-api-key + anthropic-version headers).
// System messages move to `system`; tool calls become tool_use blocks and tool messages
// tool_result blocks in a user turn; max_tokens is required, so the output cap is always sent.

type Block = JsonObject;
interface Turn { role: 'user' | 'assistant'; parts: Block[] }

export function toAnthropicRequest(req: ChatRequest, model: string, maxTokens: number): JsonObject {
  const turns: Turn[] = [];
  for (const m of req.messages) {
    if (m.role === 'system' || m.role === 'developer') continue;
    if (m.role === 'tool') {
      turns.push({ role: 'user', parts: [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: textOf(m.content) }] });
      continue;
    }
    const parts: Block[] = [];
    if (typeof m.content === 'string') { if (m.content !== '') parts.push({ type: 'text', text: m.content }); }
    else if (m.content) {
      for (const p of m.content) {
        if (p.type === 'text' && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
        const url = imageUrlOf(p);
        if (url) {
          const d = dataUrl(url);
          parts.push({ type: 'image', source: d ? { type: 'base64', media_type: d.mediaType, data: d.data } : { type: 'url', url } });
        }
      }
    }
    for (const tc of m.tool_calls ?? []) parts.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input: parseArguments(tc.function.arguments) });
    turns.push({ role: m.role === 'assistant' ? 'assistant' : 'user', parts });
  }
  const body: JsonObject = {
    model, max_tokens: maxTokens,
    messages: mergeTurns(turns).map((t) => ({ role: t.role, content: t.parts })),
  };
  const system = systemText(req.messages);
  if (system !== null) body.system = system;
  if (req.temperature !== null) body.temperature = Math.min(1, req.temperature);
  if (req.topP !== null) body.top_p = req.topP;
  if (req.stop.length) body.stop_sequences = [...req.stop];
  if (req.tools.length) {
    body.tools = req.tools.map((t) => ({
      name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}),
      input_schema: t.function.parameters ?? { type: 'object', properties: {} },
    }));
  }
  const tc = req.toolChoice;
  if (tc !== null) {
    body.tool_choice = tc === 'auto' ? { type: 'auto' } : tc === 'required' ? { type: 'any' } : tc === 'none' ? { type: 'none' } : { type: 'tool', name: tc.function.name };
  }
  if (typeof req.raw.user === 'string') body.metadata = { user_id: req.raw.user };
  if (req.stream) body.stream = true;
  return body;
}

export function finishFromAnthropic(stop: string | null | undefined): FinishReason | null {
  switch (stop) {
    case 'end_turn': case 'stop_sequence': case 'pause_turn': return 'stop';
    case 'max_tokens': case 'model_context_window_exceeded': return 'length';
    case 'tool_use': return 'tool_calls';
    case 'refusal': return 'content_filter';
    case null: case undefined: return null;
    default: return 'stop';
  }
}

interface AnthropicUsage { input_tokens?: number; output_tokens?: number; cache_creation_input_tokens?: number | null; cache_read_input_tokens?: number | null }
const promptTokens = (u: AnthropicUsage | undefined) => (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0);

interface AnthropicMessage { id: string; model: string; content: { type: string; text?: string; id?: string; name?: string; input?: unknown }[]; stop_reason: string | null; usage: AnthropicUsage }

export function fromAnthropicMessage(m: AnthropicMessage): ChatCompletion {
  const text = m.content.filter((b) => b.type === 'text').map((b) => b.text ?? '').join('');
  const toolCalls: ToolCall[] = m.content.filter((b) => b.type === 'tool_use')
    .map((b) => ({ id: b.id ?? '', type: 'function' as const, function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) } }));
  return {
    id: m.id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: m.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text === '' && toolCalls.length ? null : text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}), refusal: null }, finish_reason: finishFromAnthropic(m.stop_reason), logprobs: null }],
    usage: usageOf(promptTokens(m.usage), m.usage.output_tokens ?? 0),
  };
}

function streamErrorCode(type: string | undefined): ProviderFailureCode {
  if (type === 'rate_limit_error') return 'provider_rate_limited';
  if (type === 'authentication_error' || type === 'permission_error') return 'provider_auth_failed';
  if (type === 'invalid_request_error' || type === 'not_found_error' || type === 'request_too_large') return 'provider_bad_request';
  return 'provider_unavailable';
}

/** Anthropic's SSE events (message_start, content_block_*, message_delta, message_stop, ping, error) as OpenAI chunks. */
export async function* anthropicChunks(events: AsyncIterable<{ event: string | null; data: string }>, apiKey: string | null): AsyncGenerator<ChatChunk> {
  let id = '';
  let model = '';
  const created = Math.floor(Date.now() / 1000);
  let prompt = 0;
  let completion = 0;
  const toolIndex = new Map<number, number>();
  const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null = null): ChatChunk => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  for await (const e of events) {
    const d = parseStreamEvent<{ type?: string; [k: string]: unknown }>(e.data, apiKey);
    switch (d.type ?? e.event) {
      case 'message_start': {
        const m = d.message as AnthropicMessage;
        id = m.id; model = m.model; prompt = promptTokens(m.usage); completion = m.usage?.output_tokens ?? 0;
        yield chunk({ role: 'assistant', content: '' });
        break;
      }
      case 'content_block_start': {
        const b = d.content_block as { type: string; id?: string; name?: string; text?: string };
        if (b.type === 'tool_use') {
          const i = toolIndex.size;
          toolIndex.set(d.index as number, i);
          const call: ChunkToolCall = { index: i, id: b.id ?? '', type: 'function', function: { name: b.name ?? '', arguments: '' } };
          yield chunk({ tool_calls: [call] });
        } else if (b.type === 'text' && b.text) {
          yield chunk({ content: b.text });
        }
        break;
      }
      case 'content_block_delta': {
        const delta = d.delta as { type: string; text?: string; partial_json?: string };
        if (delta.type === 'text_delta' && delta.text) yield chunk({ content: delta.text });
        else if (delta.type === 'input_json_delta' && delta.partial_json) {
          const i = toolIndex.get(d.index as number) ?? 0;
          yield chunk({ tool_calls: [{ index: i, function: { arguments: delta.partial_json } }] });
        }
        break;
      }
      case 'message_delta': {
        const delta = d.delta as { stop_reason?: string | null };
        const u = d.usage as AnthropicUsage | undefined;
        // message_delta's output_tokens is the running total, not an increment.
        if (u?.output_tokens !== undefined) completion = u.output_tokens;
        if (u?.input_tokens !== undefined) prompt = promptTokens(u);
        const finish = finishFromAnthropic(delta.stop_reason);
        if (finish) yield chunk({}, finish);
        break;
      }
      case 'message_stop':
        yield { id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(prompt, completion) };
        return;
      case 'error': {
        const err = d.error as { type?: string; message?: string } | undefined;
        throw new ProviderStreamError(failure(streamErrorCode(err?.type), 200, `${err?.type ?? 'error'}: ${err?.message ?? ''}`, apiKey));
      }
      default: break; // ping, content_block_stop, and event types added later
    }
  }
  throw new ProviderStreamError(failure('provider_unavailable', 200, 'the stream ended before message_stop', apiKey));
}

export function createAnthropicAdapter(config: ProviderConfig): ProviderAdapter {
  const base = (config.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
  return {
    type: 'anthropic',
    async chat(call: ProviderCall<ChatRequest>): Promise<ChatOutcome> {
      const headers: Record<string, string> = { 'anthropic-version': config.anthropicVersion };
      if (call.apiKey) headers['x-api-key'] = call.apiKey;
      const res = await postJson(`${base}/v1/messages`, headers, toAnthropicRequest(call.request, call.model, call.maxTokens), call.signal, config.timeoutMs, call.apiKey);
      if (res.kind === 'failure') return res;
      if (!call.request.stream) {
        const m = await res.body.json().catch(() => null) as AnthropicMessage | null;
        if (!m || !Array.isArray(m.content)) return failure('provider_unavailable', res.status, 'the provider answered 2xx with a body that is not a message', call.apiKey);
        return { kind: 'completion', completion: fromAnthropicMessage(m) };
      }
      return { kind: 'stream', chunks: anthropicChunks(readSse(res.body), call.apiKey) };
    },
    async embed() {
      return failure('provider_bad_request', null, 'Anthropic offers no embeddings API', null);
    },
  };
}
