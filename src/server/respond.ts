import type { ServerResponse } from 'node:http';
import type { RateLimitReport } from '../pipeline/types.ts';
import { renderProblem, type ProblemInput } from '../reasons/problem.ts';

/** IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers) plus the X-RateLimit-* ones many clients still read. */
export function rateLimitHeaders(reports: readonly RateLimitReport[]): [string, string][] {
  if (reports.length === 0) return [];
  let tightest = reports[0]!;
  for (const r of reports) if (r.remaining < tightest.remaining) tightest = r;
  return [
    ['ratelimit-policy', reports.map((r) => `"${r.policy}";q=${r.limit};w=${r.windowSeconds}`).join(', ')],
    ['ratelimit', reports.map((r) => `"${r.policy}";r=${r.remaining};t=${r.resetSeconds}`).join(', ')],
    ['x-ratelimit-limit', String(tightest.limit)],
    ['x-ratelimit-remaining', String(tightest.remaining)],
    ['x-ratelimit-reset', String(tightest.resetSeconds)],
  ];
}

export interface ProblemResponse extends ProblemInput {
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly rateLimits?: readonly RateLimitReport[];
  /** The request still has an unread body too big to drain: close the connection after answering. */
  readonly closeConnection?: boolean;
}

/** Writes a gateway-generated answer. Returns the status written. */
export function sendProblem(res: ServerResponse, input: ProblemResponse): number {
  const { status, body } = renderProblem(input);
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-request-id': input.requestId,
  };
  for (const [k, v] of rateLimitHeaders(input.rateLimits ?? [])) headers[k] = v;
  if (input.headers) for (const k in input.headers) headers[k] = input.headers[k]!;
  if (input.closeConnection) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
  return status;
}
