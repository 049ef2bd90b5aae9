import { ProviderStreamError, type ProviderFailure, type ProviderFailureCode } from './provider.ts';

/**
 * A provider's HTTP status, as a Pinpoint reason: 429 is the provider's rate limit or quota,
 * 401/403 the gateway's provider key was refused, other 4xx the request (as translated) was
 * refused, 5xx and Anthropic's 529 "overloaded" the provider is down or busy.
 */
export function codeForProviderStatus(status: number): ProviderFailureCode {
  if (status === 429) return 'provider_rate_limited';
  if (status === 401 || status === 403) return 'provider_auth_failed';
  if (status >= 400 && status < 500) return 'provider_bad_request';
  return 'provider_unavailable';
}

/** Fallbacks apply when another provider could do better: rate limits and outages, not bad requests. */
export const fallbackWorthy = (f: ProviderFailure): boolean => f.code === 'provider_rate_limited' || f.code === 'provider_unavailable';

// Key-like runs (sk-..., AIza..., long base64/hex) are cut from provider messages before they
// reach a trace or a caller: OpenAI, for one, echoes part of a refused key in its message.
const keyLike = /\b(sk-[A-Za-z0-9_*-]{6,}|AIza[A-Za-z0-9_-]{10,}|[A-Za-z0-9_*+/=-]{32,})/g;

export function scrubProviderMessage(message: string, apiKey: string | null): string {
  let m = message;
  if (apiKey) m = m.split(apiKey).join('[redacted]');
  return m.replace(keyLike, '[redacted]').slice(0, 500);
}

/** The message inside the usual provider error bodies: OpenAI/Azure/Gemini {error:{message}}, Anthropic {type:'error', error:{type,message}}. */
export function providerErrorMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown; type?: unknown; status?: unknown } | string; message?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (j.error && typeof j.error.message === 'string') {
      const kind = typeof j.error.type === 'string' ? j.error.type : typeof j.error.status === 'string' ? j.error.status : null;
      return kind ? `${kind}: ${j.error.message}` : j.error.message;
    }
    if (typeof j.message === 'string') return j.message;
  } catch { /* not JSON */ }
  return body.slice(0, 300);
}

export function failure(code: ProviderFailureCode, status: number | null, providerError: string, apiKey: string | null, retryAfter: string | null = null): ProviderFailure {
  return { kind: 'failure', code, status, providerError: scrubProviderMessage(providerError, apiKey), retryAfter };
}

/** One stream event's JSON; an event that is not JSON ends the stream as the provider's failure. */
export function parseStreamEvent<T>(data: string, apiKey: string | null): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new ProviderStreamError(failure('provider_unavailable', 200, 'the provider sent a stream event that is not JSON', apiKey));
  }
}
