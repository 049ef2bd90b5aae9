import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Evidence } from '../pipeline/types.ts';
import { setCookieName, withoutCookies } from '../web/cookies.ts';
import type { Target, Upstream } from './upstream.ts';

export type ForwardFailureCode = 'no_healthy_upstream' | 'upstream_unavailable' | 'upstream_timeout' | 'payload_too_large';

export interface Attempt {
  readonly target: string;
  readonly error?: string;
  readonly status?: number;
}

export type ForwardOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly attempts: readonly Attempt[]; readonly panic: boolean; readonly headersMs: number; readonly errorSample: string | null; readonly aborted: string | null }
  /** Nothing was sent to the client yet: the caller answers with a problem+json. */
  | { readonly kind: 'failed'; readonly code: ForwardFailureCode; readonly evidence: Evidence; readonly attempts: readonly Attempt[]; readonly panic: boolean }
  | { readonly kind: 'client_gone'; readonly attempts: readonly Attempt[] };

export interface ForwardPlan {
  readonly upstream: Upstream;
  readonly method: string;
  /** Path and query as the upstream should see them. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly request: IncomingMessage;
  readonly hasBody: boolean;
  readonly maxBodyBytes: number;
  /** Extra headers for the client response (request id, rate-limit state). */
  readonly responseHeaders: readonly (readonly [string, string])[];
  readonly captureErrorBytes: number;
  /** The body, already read for the checks (WAF, schema): forwarded as these exact bytes. */
  readonly bufferedBody?: Buffer | undefined;
  /** Cookies the upstream may not set (the gateway's session and CSRF cookies); null: any. */
  readonly dropSetCookies?: ReadonlySet<string> | null;
}

function dropSetCookies(out: Record<string, string | string[]>, names: ReadonlySet<string>): void {
  const lines = out['set-cookie']!;
  const kept = (Array.isArray(lines) ? lines : [lines]).filter((line) => !names.has(setCookieName(line)));
  if (kept.length) out['set-cookie'] = kept;
  else delete out['set-cookie'];
}

// RFC 9110 7.6.1: connection-specific fields are not forwarded.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
// Expect: 100-continue is answered by the gateway's own listener before the body is read
// (RFC 9110 10.1.1); undici refuses to send it, which would turn every such request
// (curl sends it for large uploads) into a 502 and a passive-health failure of the target.
const answeredHere = new Set(['expect']);
const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const connectErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export class BodyTooLargeError extends Error {
  readonly code = 'PINPOINT_BODY_TOO_LARGE';
}

/**
 * Copies request headers for the upstream, dropping hop-by-hop ones, any listed in Connection,
 * those in `drop`, and the cookies named in `dropCookies` (the Cookie header goes when none is left).
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, drop: ReadonlySet<string>, dropCookies: ReadonlySet<string> | null = null): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connection = incoming.connection;
  const listed = connection ? connection.toLowerCase().split(',').map((s) => s.trim()) : null;
  for (const name in incoming) {
    if (hopByHop.has(name) || answeredHere.has(name) || drop.has(name) || (listed && listed.includes(name))) continue;
    const v = incoming[name];
    if (v !== undefined) out[name] = v;
  }
  // Node joins repeated Cookie headers into one string (RFC 6265 5.4 allows only one).
  if (dropCookies && typeof out.cookie === 'string') {
    const kept = withoutCookies(out.cookie, dropCookies);
    if (kept === null) delete out.cookie;
    else out.cookie = kept;
  }
  return out;
}

async function* limitBody(source: IncomingMessage, max: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > max) throw new BodyTooLargeError(`request body exceeded ${max} bytes`);
    yield chunk;
  }
}

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code ?? (err instanceof Error ? err.name : 'unknown');
}

/**
 * Streams the request to one target of the upstream and the answer back, with
 * backpressure both ways. Retries on another target only for idempotent methods whose
 * body was not streamed and only when the failure happened before any answer.
 */
export function forward(plan: ForwardPlan, res: ServerResponse, done: (outcome: ForwardOutcome) => void): void {
  const { upstream, method } = plan;
  const cfg = upstream.config;
  const chunked = plan.hasBody && plan.request.headers['content-length'] === undefined;
  const body: Readable | Buffer | null = plan.bufferedBody ?? (!plan.hasBody ? null : chunked ? Readable.from(limitBody(plan.request, plan.maxBodyBytes)) : plan.request);
  const retryable = !plan.hasBody && idempotentMethods.has(method);
  const attempts: Attempt[] = [];
  const tried = new Set<Target>();
  const started = performance.now();
  let clientGone = false;
  let active: Dispatcher.DispatchController | null = null;
  let finished = false;
  // Any target picked although every target looked unhealthy: the trace should say so.
  let panicked = false;
  const finish = (o: ForwardOutcome) => { if (!finished) { finished = true; done(o); } };

  res.once('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    active?.abort(new Error('client closed the connection'));
  });

  const attempt = (): void => {
    const now = Date.now();
    const pick = upstream.pick(now, tried);
    if (!pick) {
      finish({ kind: 'failed', code: attempts.length && !panicked ? 'upstream_unavailable' : 'no_healthy_upstream', evidence: { upstream: upstream.name, targets: upstream.targets.length, panic: panicked, attempts: attempts.length, tried: attempts.map((a) => `${a.target} ${a.error ?? a.status}`) }, attempts, panic: panicked });
      return;
    }
    const { target, panic } = pick;
    if (panic) panicked = true;
    tried.add(target);
    let responded = false;
    let sample: Buffer[] | null = null;
    let sampled = 0;
    let status = 0;
    let headersMs = 0;

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        active = controller;
        if (clientGone) controller.abort(new Error('client closed the connection'));
      },
      onResponseStart(controller, statusCode, headers) {
        status = statusCode;
        headersMs = performance.now() - started;
        if (cfg.retryOnStatus.includes(statusCode) && retryable && tried.size <= cfg.retries && tried.size < upstream.targets.length) {
          attempts.push({ target: target.origin, status: statusCode });
          upstream.reportFailure(target, Date.now());
          controller.abort(new Error(`retrying after status ${statusCode}`));
          return;
        }
        responded = true;
        upstream.reportSuccess(target);
        attempts.push({ target: target.origin, status: statusCode });
        const out: Record<string, string | string[]> = {};
        const connection = headers.connection;
        const listed = typeof connection === 'string' ? connection.toLowerCase().split(',').map((s) => s.trim()) : null;
        for (const name in headers) {
          if (hopByHop.has(name) || (listed && listed.includes(name))) continue;
          const v = headers[name];
          if (v !== undefined) out[name] = v;
        }
        // An upstream setting the gateway's own session cookie could fix a victim's session
        // (or log them out); only the gateway issues those.
        if (plan.dropSetCookies && out['set-cookie'] !== undefined) dropSetCookies(out, plan.dropSetCookies);
        for (const [k, v] of plan.responseHeaders) out[k] = v;
        res.writeHead(statusCode, out);
        if (statusCode >= 400 && plan.captureErrorBytes > 0) sample = [];
      },
      onResponseData(controller, chunk) {
        if (sample && sampled < plan.captureErrorBytes) {
          sample.push(chunk.subarray(0, plan.captureErrorBytes - sampled));
          sampled += Math.min(chunk.length, plan.captureErrorBytes - sampled);
        }
        if (!res.write(chunk)) {
          controller.pause();
          res.once('drain', () => controller.resume());
        }
      },
      onResponseEnd() {
        res.end();
        finish({ kind: 'response', status, attempts, panic, headersMs, errorSample: sample ? Buffer.concat(sample).toString('utf8') : null, aborted: null });
      },
      onResponseError(_controller, err) {
        const code = errorCode(err);
        if (clientGone) {
          finish({ kind: 'client_gone', attempts: [...attempts, { target: target.origin, error: 'client closed' }] });
          return;
        }
        if (responded) {
          // Headers are out: the only honest signal left is to cut the connection.
          res.destroy(err);
          finish({ kind: 'response', status, attempts, panic, headersMs, errorSample: null, aborted: code });
          return;
        }
        if (err.message.startsWith('retrying after status')) { attempt(); return; }
        if (err instanceof BodyTooLargeError || code === 'PINPOINT_BODY_TOO_LARGE') {
          attempts.push({ target: target.origin, error: 'request body too large' });
          finish({ kind: 'failed', code: 'payload_too_large', evidence: { max_body_bytes: plan.maxBodyBytes, chunked: true }, attempts, panic: panicked });
          return;
        }
        attempts.push({ target: target.origin, error: code });
        const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
        if (!timeout) upstream.reportFailure(target, Date.now());
        if (!timeout && connectErrors.has(code) && retryable && tried.size <= cfg.retries) { attempt(); return; }
        finish({
          // Every target was already marked unhealthy before this request: say so (503), rather
          // than blame this one attempt (502); the panic attempt is recorded all the same.
          kind: 'failed', code: timeout ? 'upstream_timeout' : panicked ? 'no_healthy_upstream' : 'upstream_unavailable',
          evidence: { upstream: upstream.name, target: target.origin, error: code, panic, attempts: attempts.length, ...(timeout ? { timeout_ms: cfg.timeouts.responseHeadersMs } : {}) },
          attempts, panic: panicked,
        });
      },
    };
    target.pool.dispatch({
      path: plan.path, method, headers: plan.headers, body,
      headersTimeout: cfg.timeouts.responseHeadersMs, bodyTimeout: cfg.timeouts.bodyIdleMs,
      idempotent: retryable, blocking: false,
    }, handler);
  };
  attempt();
}
