import { createHash, randomUUID } from 'node:crypto';
import type { ChatOutcome, EmbeddingsOutcome, ProviderAdapter, ProviderCall } from '../ai/provider.ts';
import { usageOf, type ChatChunk, type ChatMessage, type ChatRequest, type EmbeddingsRequest } from '../ai/types.ts';

// The demo's built-in model provider (DEMO.md, "AI gateway"): model `demo-echo` answers with
// the last user message's characters in reverse order; usage counts one token per
// whitespace-separated word (prompt: every message's content; completion: the answer); a
// streamed answer is one chunk per word. It runs in process, so the demo needs no network.

const words = (s: string): number => (s.match(/\S+/g) ?? []).length;

export function messageText(m: ChatMessage): string {
  if (m.content === null) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join(' ');
}

/** The demo answer and its token counts, before any output cap. */
export function demoEcho(messages: readonly ChatMessage[]): { answer: string; promptTokens: number } {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const answer = [...(lastUser ? messageText(lastUser) : '')].reverse().join('');
  const promptTokens = messages.reduce((n, m) => n + words(messageText(m)), 0);
  return { answer, promptTokens };
}

/** One piece per word, each with the whitespace before it, so the pieces join back to the answer. */
function pieces(answer: string): string[] {
  const out = answer.match(/\s*\S+/g) ?? [];
  const tail = answer.slice(out.join('').length);
  if (tail && out.length > 0) out[out.length - 1] += tail;
  return out;
}

export const demoEchoProvider: ProviderAdapter = {
  type: 'demo-echo',
  async chat(call: ProviderCall<ChatRequest>): Promise<ChatOutcome> {
    const { answer, promptTokens } = demoEcho(call.request.messages);
    let parts = pieces(answer);
    const truncated = parts.length > call.maxTokens;
    if (truncated) parts = parts.slice(0, call.maxTokens);
    const content = parts.join('');
    const finish = truncated ? 'length' as const : 'stop' as const;
    const id = `chatcmpl-demo-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = usageOf(promptTokens, parts.length);
    if (!call.request.stream) {
      return {
        kind: 'completion',
        completion: {
          id, object: 'chat.completion', created, model: call.model,
          choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: finish, logprobs: null }], usage,
        },
      };
    }
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish_reason: ChatChunk['choices'][number]['finish_reason']): ChatChunk => ({
      id, object: 'chat.completion.chunk', created, model: call.model, choices: [{ index: 0, delta, finish_reason }],
    });
    async function* stream(): AsyncGenerator<ChatChunk> {
      if (parts.length === 0) yield chunk({ role: 'assistant', content: '' }, finish);
      for (let i = 0; i < parts.length; i++) {
        if (call.signal.aborted) return;
        yield chunk(i === 0 ? { role: 'assistant', content: parts[i]! } : { content: parts[i]! }, i === parts.length - 1 ? finish : null);
      }
      yield { id, object: 'chat.completion.chunk', created, model: call.model, choices: [], usage };
    }
    return { kind: 'stream', chunks: stream() };
  },
  async embed(call: ProviderCall<EmbeddingsRequest>): Promise<EmbeddingsOutcome> {
    // A deterministic 8-dimension vector per input: enough to exercise the endpoint.
    const vectors = call.request.input.map((text) => [...createHash('sha256').update(text).digest().subarray(0, 8)].map((b) => Math.round((b / 127.5 - 1) * 1e6) / 1e6));
    const tokens = call.request.input.reduce((n, t) => n + words(t), 0);
    return { kind: 'embeddings', result: { vectors, usage: { prompt_tokens: tokens, total_tokens: tokens } } };
  },
};
