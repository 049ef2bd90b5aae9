import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReasonCode } from '../reasons/catalogue.ts';
import { renderProblem } from '../reasons/problem.ts';

// JSON in, JSON out, and every refusal as problem+json with the one catalogue's codes.

export interface FieldError {
  /** JSON pointer into the request body, e.g. /subjects/consumers/0. */
  readonly path: string;
  readonly message: string;
}

/** Thrown by admin handlers (never on the data plane): becomes one problem+json answer. */
export class AdminError extends Error {
  readonly code: ReasonCode;
  readonly errors: readonly FieldError[];
  /** Headers the answer carries (Retry-After of a throttled call). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: ReasonCode, detail: string, errors: readonly FieldError[] = [], headers: Readonly<Record<string, string>> = {}) {
    super(detail);
    this.code = code;
    this.errors = errors;
    this.headers = headers;
  }
}

export const MAX_ADMIN_BODY = 1024 * 1024;

/** On every JSON answer: never sniffed into HTML, never framed. (No CORS header is ever sent.) */
export const apiSecurityHeaders = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' } as const;

export function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_ADMIN_BODY) {
        // Stop buffering but keep the socket: the 413 is sent with Connection: close, which ends it.
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        reject(new AdminError('admin_payload_too_large', `The body exceeds ${MAX_ADMIN_BODY} bytes.`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => {
      if (size === 0) { resolve(undefined); return; }
      const text = Buffer.concat(chunks).toString('utf8');
      try { resolve(JSON.parse(text)); } catch (err) {
        reject(new AdminError('admin_invalid_request', `The body is not valid JSON: ${(err as Error).message}`, [{ path: '', message: 'not JSON' }]));
      }
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', 'x-request-id': requestId, ...apiSecurityHeaders });
  res.end(text);
}

export function sendAdminProblem(res: ServerResponse, err: AdminError, requestId: string, extraHeaders: Record<string, string> = {}): void {
  const { status, body } = renderProblem({ code: err.code, requestId, detail: err.message, verbosity: 'standard', typeBase: 'urn:pinpoint:reason:' });
  const withErrors = err.errors.length ? JSON.stringify({ ...(JSON.parse(body) as object), errors: err.errors }) : body;
  res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': String(Buffer.byteLength(withErrors)), 'cache-control': 'no-store', 'x-request-id': requestId, ...apiSecurityHeaders, ...extraHeaders });
  res.end(withErrors);
}

/** zod issue paths as JSON pointers (RFC 6901), so a client can point at the field. */
export function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
