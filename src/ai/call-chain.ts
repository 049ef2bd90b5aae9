import type { Attempt } from '../proxy/forward.ts';
import type { CompiledModel } from './compile-ai.ts';
import { failure, fallbackWorthy } from './provider-errors.ts';
import type { ProviderCall, ProviderFailure } from './provider.ts';
import type { AiRuntime } from './runtime.ts';
import { SecretUnavailable } from './secrets.ts';

export interface ChainResult<T> {
  readonly outcome: T | ProviderFailure;
  /** The model that produced the outcome (the last one tried). */
  readonly model: CompiledModel;
  readonly attempts: Attempt[];
}

/**
 * Tries the requested model, then its fallbacks in order, while a provider answers 429 or
 * 5xx (or its key cannot be read); a bad request or a refused key stops at once, since
 * another provider would not fix it. Every try is an attempt in the trace.
 */
export async function callWithFallbacks<R, T extends { kind: string }>(
  candidates: readonly CompiledModel[], runtime: AiRuntime, request: R, maxTokens: (m: CompiledModel) => number, signal: AbortSignal,
  invoke: (m: CompiledModel, call: ProviderCall<R>) => Promise<T | ProviderFailure>,
): Promise<ChainResult<T>> {
  const attempts: Attempt[] = [];
  let last: ChainResult<T> | null = null;
  for (const model of candidates) {
    const target = `${model.provider.name}/${model.providerModel}`;
    let apiKey: string | null = null;
    const ref = model.provider.config.apiKey;
    let outcome: T | ProviderFailure;
    try {
      if (ref) apiKey = await runtime.secrets.resolve(ref, model.provider.config.secretTtlSeconds * 1000);
      outcome = await invoke(model, { request, model: model.providerModel, maxTokens: maxTokens(model), apiKey, signal });
    } catch (err) {
      outcome = err instanceof SecretUnavailable
        ? failure('provider_credential_unavailable', null, err.message, null)
        : failure('provider_unavailable', null, `${(err as Error).name}: ${(err as Error).message}`, apiKey);
    }
    if (outcome.kind !== 'failure') {
      attempts.push({ target, status: 200 });
      return { outcome, model, attempts };
    }
    const f = outcome as ProviderFailure;
    attempts.push({ target, ...(f.status === null ? {} : { status: f.status }), error: `${f.code}: ${f.providerError}`.slice(0, 300) });
    last = { outcome: f, model, attempts };
    if (signal.aborted || !(fallbackWorthy(f) || f.code === 'provider_credential_unavailable')) break;
  }
  return last!;
}
