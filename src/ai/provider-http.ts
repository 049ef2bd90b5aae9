import { Agent, request, type Dispatcher } from 'undici';
import { codeForProviderStatus, failure, providerErrorMessage } from './provider-errors.ts';
import type { ProviderFailure } from './provider.ts';

// One keep-alive agent for every provider call of the process: connections to a provider
// are reused across requests and config reloads.
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });

export interface ProviderResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly headers: Dispatcher.ResponseData['headers'];
  readonly body: Dispatcher.ResponseData['body'];
}

/**
 * POSTs JSON to a provider. A non-2xx answer is read (bounded) and returned as a failure with
 * the provider's message; a network error or timeout is provider_unavailable.
 */
export async function postJson(url: string, headers: Record<string, string>, payload: unknown, signal: AbortSignal, timeoutMs: number, apiKey: string | null, method: 'POST' | 'GET' = 'POST'): Promise<ProviderResponse | ProviderFailure> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method, dispatcher: agent, signal,
      headers: method === 'POST' ? { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } : headers,
      body: method === 'POST' ? JSON.stringify(payload) : null,
      headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return failure('provider_unavailable', null, `${e.code ?? e.name}: ${e.message}`, apiKey);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return { kind: 'response', status: res.statusCode, headers: res.headers, body: res.body };
  let text = '';
  try {
    for await (const c of res.body) { text += (c as Buffer).toString('utf8'); if (text.length > 8192) break; }
  } catch { /* the message is best effort */ }
  res.body.destroy();
  const ra = res.headers['retry-after'];
  return failure(codeForProviderStatus(res.statusCode), res.statusCode, providerErrorMessage(text), apiKey, typeof ra === 'string' ? ra : null);
}
