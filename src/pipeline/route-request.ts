import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledConfig, CompiledRoute } from '../config/compile.ts';
import { resolveClientIp, type ClientAddress } from '../net/client-ip.ts';
import type { ReasonCode } from '../reasons/catalogue.ts';
import { normalizePath } from '../router/normalize-path.ts';
import type { Evidence, RequestContext } from './types.ts';

export interface RequestInput {
  readonly requestId: string;
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly peerIp: string;
  readonly now: number;
  readonly dryRun: boolean;
  /** "1.1" asks for a Host header (RFC 9112 3.2); absent for simulate and HTTP/1.0. */
  readonly httpVersion?: string | undefined;
  /** simulate --as-ip: pretend the client came from here. */
  readonly clientIpOverride?: string | undefined;
}

export type Routing =
  | { readonly kind: 'routed'; readonly route: CompiledRoute; readonly ctx: RequestContext; readonly client: ClientAddress; readonly query: string }
  | {
    readonly kind: 'refused'; readonly code: ReasonCode; readonly evidence: Evidence; readonly detail: string; readonly path: string;
    readonly client: ClientAddress; readonly query: string; readonly headers?: Record<string, string>;
  };

/** Normalize once, find the route: shared by the listener and by `pinpoint simulate`. */
export function routeRequest(config: CompiledConfig, input: RequestInput): Routing {
  const { method, url } = input;
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const resolved = resolveClientIp(input.peerIp, input.headers['x-forwarded-for'], config.trustedProxies);
  const client: ClientAddress = input.clientIpOverride ? { ip: input.clientIpOverride, via: resolved.via } : resolved;
  const normalized = normalizePath(rawPath, { caseInsensitive: config.gateway.caseInsensitivePaths });
  if (!normalized.ok) {
    const rawShown = rawPath.slice(0, 200);
    const [code, detail] = normalized.ambiguous
      ? ['path_ambiguous' as const, `The path is ambiguous: ${normalized.problem}.`]
      : ['request_malformed' as const, `The path is not acceptable: ${normalized.problem}.`];
    return { kind: 'refused', code, evidence: { problem: normalized.problem, raw_path: rawShown }, detail, path: rawShown, client, query };
  }
  // Node would answer this itself with a bare 400 that no log sees (requireHostHeader is off
  // in the listener), so the refusal is ours: a code, a request id and a line in the call log.
  if (input.httpVersion === '1.1' && input.headers.host === undefined) {
    return { kind: 'refused', code: 'request_malformed', evidence: { missing_header: 'host', http_version: '1.1' }, detail: 'An HTTP/1.1 request must carry a Host header (RFC 9112 section 3.2).', path: normalized.path, client, query };
  }
  const match = config.table.match(method, normalized.segments, input.headers.host, input.headers);
  if (match.kind === 'not_found') {
    return { kind: 'refused', code: 'route_not_found', evidence: { nearest_route: match.nearest, why: match.why }, detail: `No route serves ${method} ${normalized.path}.`, path: normalized.path, client, query };
  }
  if (match.kind === 'method_not_allowed') {
    return {
      kind: 'refused', code: 'method_not_allowed', evidence: { allow: match.allow, routes: match.routeIds },
      detail: `${method} is not served on ${normalized.path}; allowed: ${match.allow.join(', ')}.`, path: normalized.path, client, query,
      headers: { allow: match.allow.join(', ') },
    };
  }
  const ctx: RequestContext = {
    requestId: input.requestId, method, path: normalized.path, query, headers: input.headers, peerIp: input.peerIp, clientIp: client.ip,
    params: match.params, now: input.now, dryRun: input.dryRun, identity: null, rateLimits: [],
  };
  return { kind: 'routed', route: match.route, ctx, client, query };
}
