import type { ChatChunk, ChatCompletion, ChatRequest, EmbeddingsRequest, EmbeddingsResult } from './types.ts';

/** How a provider refused, in the gateway's words: each is a reason code in the catalogue. */
export type ProviderFailureCode = 'provider_rate_limited' | 'provider_auth_failed' | 'provider_unavailable' | 'provider_bad_request' | 'provider_credential_unavailable';

export interface ProviderFailure {
  readonly kind: 'failure';
  readonly code: ProviderFailureCode;
  /** The provider's HTTP status; null when it never answered. */
  readonly status: number | null;
  /** The provider's own error type and message, secrets scrubbed: for the trace and the caller's detail. */
  readonly providerError: string;
  readonly retryAfter: string | null;
}

export type ChatOutcome =
  | { readonly kind: 'completion'; readonly completion: ChatCompletion }
  /** Chunks in the OpenAI format; the last ones carry finish_reason and usage. Iterating may throw ProviderStreamError. */
  | { readonly kind: 'stream'; readonly chunks: AsyncIterable<ChatChunk> }
  | ProviderFailure;

export type EmbeddingsOutcome = { readonly kind: 'embeddings'; readonly result: EmbeddingsResult } | ProviderFailure;

export interface ProviderCall<R> {
  readonly request: R;
  /** The provider's own model (or deployment) name. */
  readonly model: string;
  /** Effective output cap: the request's max_tokens or the model's default. */
  readonly maxTokens: number;
  /** The resolved provider key, or null for keyless providers. Never logged. */
  readonly apiKey: string | null;
  readonly signal: AbortSignal;
}

export interface ProviderAdapter {
  readonly type: string;
  chat(call: ProviderCall<ChatRequest>): Promise<ChatOutcome>;
  embed(call: ProviderCall<EmbeddingsRequest>): Promise<EmbeddingsOutcome>;
}

/** A provider stream that broke after the answer started: the client gets an error event. */
export class ProviderStreamError extends Error {
  readonly failure: ProviderFailure;
  constructor(failure: ProviderFailure) {
    super(failure.providerError);
    this.name = 'ProviderStreamError';
    this.failure = failure;
  }
}
