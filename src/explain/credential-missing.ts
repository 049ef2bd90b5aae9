import type { PinpointConfig } from '../config/schema.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { Evidence } from '../pipeline/types.ts';
import { list, str } from './evidence.ts';

/**
 * Why no credential was found, from what the route's authenticators recorded when they
 * skipped: they are the ground truth for what this route reads (a route's auth list does
 * not name the AI gateway's "API key as a bearer" reader, and the demo config may change).
 */
export function diagnoseCredentialMissing(t: TraceRecord, e: Evidence | undefined, config: PinpointConfig | null): string[] {
  const out: string[] = [];
  const readers = t.checks.filter((c) => c.phase === 'authn' && c.id !== 'authn');
  const apiKeyCheck = readers.find((c) => c.id === 'api-key');
  const configured = config?.gateway.apiKeyHeader ?? 'x-api-key';
  const keyHeader = str(apiKeyCheck?.evidence, 'header') ?? configured;
  const looked = list(e, 'looked_for');
  const readsKey = apiKeyCheck !== undefined || (readers.length === 0 && looked.includes('ApiKey'));
  const readsJwt = readers.some((c) => c.id === 'jwt') || (readers.length === 0 && looked.includes('Bearer'));
  const bearerKey = readers.find((c) => c.id === 'api-key:bearer');
  const readsBearer = readsJwt || bearerKey !== undefined;
  const routeIndex = config && t.routeId ? config.routes.findIndex((r) => r.id === t.routeId) : -1;
  const authList = routeIndex === -1 ? 'the route\'s auth list' : `routes[${routeIndex}].auth`;

  const accepted = [
    ...(readsKey || bearerKey ? [`an API key ${[...(readsKey ? [`in the "${keyHeader}" header`] : []), ...(bearerKey ? ['as "Authorization: Bearer <key>"'] : [])].join(' or ')}`] : []),
    ...(readsJwt ? ['a JWT as "Authorization: Bearer <token>"'] : []),
  ];
  const fixes: string[] = [];

  const auth = t.request.headers.authorization;
  if (auth) {
    const scheme = auth.split(' ')[0] ?? '';
    const isBearer = scheme.toLowerCase() === 'bearer';
    if (!readsBearer) {
      out.push(`An Authorization header was sent (scheme "${scheme}"), but no authenticator on this route reads the Authorization header at all, so the gateway saw no credential.`);
      if (isBearer && !readsJwt) fixes.push(`if this route should accept tokens, add jwt to ${authList}`);
    } else if (!isBearer) {
      out.push(`An Authorization header was sent with scheme "${scheme}"; this route reads the Authorization header only with scheme Bearer.`);
    } else if (str(bearerKey?.evidence, 'bearer') === 'jwt-shaped' && !readsJwt) {
      out.push('The Bearer credential is a JWT; this route reads "Authorization: Bearer" only for API keys and accepts no JWT.');
      fixes.push(`if this route should accept tokens, add jwt to ${authList}`);
    } else {
      const seen = readers.map((c) => `${c.id}: ${Object.entries(c.evidence ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(' ') || c.outcome}`);
      out.push(`An "Authorization: Bearer" header was sent, but no authenticator took it (${seen.join('; ')}).`);
    }
  }
  if (!readsKey && t.request.headers[configured] !== undefined) {
    out.push(`An API key was sent in "${configured}", but this route does not accept API keys.`);
    fixes.push(`if this route should accept API keys, add apiKey to ${authList}`);
  }
  const keyLike = Object.keys(t.request.headers).filter((h) => /api[-_]?key|apikey|token/i.test(h) && h !== configured);
  if (keyLike.length) out.push(`Header(s) ${keyLike.join(', ')} look like a credential, but this gateway reads API keys from "${keyHeader}".`);
  if (/[?&](api[-_]?key|key|token|access_token)=/i.test(t.query)) out.push('A credential-looking query parameter was sent; credentials are read from headers only (query strings end up in logs).');

  if (accepted.length === 0) {
    out.push(`The route accepts: ${looked.join(', ') || '(no authenticator recorded)'}.`);
    return out;
  }
  out.push(`The route accepts ${accepted.length === 1 ? 'only ' : ''}${accepted.join(' or ')}.`);
  out.push(`Fix: send ${accepted.length === 1 ? 'that' : 'one of those'}${fixes.length ? `; ${fixes.join('; ')}` : ''}.`);
  return out;
}
