import type { ServerResponse } from 'node:http';
import type { Evidence } from '../pipeline/types.ts';
import type { ReasonCode } from '../reasons/catalogue.ts';
import { renderProblem, type Verbosity } from '../reasons/problem.ts';

export interface AiProblem {
  readonly code: ReasonCode;
  readonly detail: string;
  readonly evidence: Evidence;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The usual problem+json, plus an OpenAI-style `error` member (an RFC 9457 extension) so
 * that OpenAI SDKs surface the reason code as `err.code` and the detail as the message.
 * The chain's refusals on AI routes carry the same member (server/gateway.ts, refuse).
 */
export function sendAiProblem(res: ServerResponse, p: AiProblem, requestId: string, verbosity: Verbosity, typeBase: string, extraHeaders: readonly (readonly [string, string])[]): number {
  const { status, body: text } = renderProblem({ code: p.code, requestId, detail: p.detail, verbosity, typeBase, check: 'ai', evidence: p.evidence, openAiError: true });
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', 'x-request-id': requestId };
  for (const [k, v] of extraHeaders) headers[k] = v;
  if (p.headers) Object.assign(headers, p.headers);
  res.writeHead(status, headers);
  res.end(text);
  return status;
}

export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: readonly (readonly [string, string])[]): void {
  const text = JSON.stringify(payload);
  const h: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
  for (const [k, v] of headers) h[k] = v;
  res.writeHead(status, h);
  res.end(text);
}
