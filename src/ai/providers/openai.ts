import type { ProviderConfig } from '../ai-schema.ts';
import { failure, parseStreamEvent } from '../provider-errors.ts';
import { postJson } from '../provider-http.ts';
import { ProviderStreamError, type ChatOutcome, type EmbeddingsOutcome, type ProviderAdapter, type ProviderCall } from '../provider.ts';
import { readSse } from '../sse.ts';
import type { ChatChunk, ChatCompletion, ChatRequest, EmbeddingsRequest, JsonObject } from '../types.ts';

// OpenAI, Azure OpenAI and any OpenAI-compatible server (Mistral, Groq, Together, Ollama,
// vLLM...) speak the canonical format already: the body is passed on with the provider's
// model name, and a stream always asks for usage (stream_options.include_usage) so that the
// gateway can account it even when the client did not ask to see it.

interface Endpoint { url: (path: 'chat/completions' | 'embeddings', model: string) => string; auth: (key: string | null) => Record<string, string> }

function endpointFor(type: string, config: ProviderConfig): Endpoint {
  const base = (config.baseUrl ?? (type === 'openai' ? 'https://api.openai.com/v1' : '')).replace(/\/+$/, '');
  if (type === 'azure-openai') {
    return {
      url: (path, deployment) => `${base}/openai/deployments/${encodeURIComponent(deployment)}/${path}?api-version=${encodeURIComponent(config.apiVersion)}`,
      auth: (key): Record<string, string> => (key ? { 'api-key': key } : {}),
    };
  }
  return { url: (path) => `${base}/${path}`, auth: (key): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {}) };
}

export function createOpenAiAdapter(type: 'openai' | 'azure-openai' | 'openai-compatible', config: ProviderConfig): ProviderAdapter {
  const ep = endpointFor(type, config);
  return {
    type,
    async chat(call: ProviderCall<ChatRequest>): Promise<ChatOutcome> {
      const body: JsonObject = { ...call.request.raw, model: call.model };
      if (call.request.stream) body.stream_options = { ...(call.request.raw.stream_options as JsonObject | undefined), include_usage: true };
      const res = await postJson(ep.url('chat/completions', call.model), ep.auth(call.apiKey), body, call.signal, config.timeoutMs, call.apiKey);
      if (res.kind === 'failure') return res;
      if (!call.request.stream) {
        const completion = await res.body.json().catch(() => null) as ChatCompletion | null;
        if (!completion || !Array.isArray(completion.choices)) return failure('provider_unavailable', res.status, 'the provider answered 2xx with a body that is not a chat completion', call.apiKey);
        return { kind: 'completion', completion };
      }
      const apiKey = call.apiKey;
      const stream = res.body;
      async function* chunks(): AsyncGenerator<ChatChunk> {
        for await (const e of readSse(stream)) {
          if (e.data === '[DONE]') return;
          const p = parseStreamEvent<{ error?: { message?: string } } & ChatChunk>(e.data, apiKey);
          if (p.error) throw new ProviderStreamError(failure('provider_unavailable', 200, p.error.message ?? 'error event in the stream', apiKey));
          yield p;
        }
      }
      return { kind: 'stream', chunks: chunks() };
    },
    async embed(call: ProviderCall<EmbeddingsRequest>): Promise<EmbeddingsOutcome> {
      // Vectors are read and accounted here, so they are asked for as floats and re-encoded for the client.
      const body: JsonObject = { ...call.request.raw, model: call.model, encoding_format: 'float' };
      const res = await postJson(ep.url('embeddings', call.model), ep.auth(call.apiKey), body, call.signal, config.timeoutMs, call.apiKey);
      if (res.kind === 'failure') return res;
      const j = await res.body.json().catch(() => null) as { data?: { embedding: number[]; index: number }[]; usage?: { prompt_tokens: number; total_tokens: number } } | null;
      if (!j || !Array.isArray(j.data)) return failure('provider_unavailable', res.status, 'the provider answered 2xx with a body that is not an embeddings list', call.apiKey);
      const vectors = [...j.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return { kind: 'embeddings', result: { vectors, usage: j.usage ?? { prompt_tokens: 0, total_tokens: 0 } } };
    },
  };
}
