import type { PinpointConfig } from '../config/schema.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { CheckRecord, Evidence } from '../pipeline/types.ts';
import { diagnoseVault } from '../vault/explain-vault.ts';
import { diagnoseWeb } from './diagnose-web.ts';

import { diagnoseCredentialMissing } from './credential-missing.ts';
import { list, str } from './evidence.ts';
import { nearestRoutes, shownRoutes } from './nearest-routes.ts';

/** The troubleshooting guide, automated: from the evidence to what to change. */
export function diagnose(t: TraceRecord, refusing: CheckRecord | null, config: PinpointConfig | null): string[] {
  const out: string[] = [];
  const e = refusing?.evidence;
  out.push(...degradedLimits(t));
  if (t.answeredBy === 'upstream') {
    if (t.status >= 400) {
      out.push(`Every gateway check passed (${t.checks.map((c) => `${c.id}: ${c.outcome}`).join(', ') || 'none configured'}); the status ${t.status} was produced by the upstream "${t.upstream?.name}" at ${t.upstream?.attempts.at(-1)?.target ?? '?'}.`);
      if (t.upstream?.errorSample) out.push(`The upstream said: ${t.upstream.errorSample.slice(0, 500)}`);
      out.push('Look in the backend\'s own logs and authorization rules for this request id (sent to it as X-Request-Id); the gateway did not refuse it.');
    }
    if (t.upstream && t.upstream.attempts.length > 1) out.push(`Attempts: ${t.upstream.attempts.map((a) => `${a.target} -> ${a.error ?? a.status}`).join('; ')}.`);
    return out;
  }
  if (t.extra?.service === 'vault') return [...out, ...diagnoseVault(t, refusing)];
  const web = diagnoseWeb(t, refusing, config);
  if (web) return [...out, ...web];
  switch (t.code) {
    case 'route_not_found': {
      out.push(str(e, 'why') ?? 'No route pattern matches the path.');
      const nearest = str(e, 'nearest_route');
      const r = nearest && config?.routes.find((x) => x.id === nearest);
      if (r) out.push(`The nearest route is "${r.id}": ${r.methods.join(', ')} ${r.path}${r.headers ? ` with headers ${JSON.stringify(r.headers)}` : ''}.`);
      else if (config) out.push(...listNearestRoutes(t.path, config));
      break;
    }
    case 'method_not_allowed':
      out.push(`${t.method} is not declared on ${t.path}; the route serves ${list(e, 'allow').join(', ')}. This is a 405, never a 403: the caller is not forbidden, the verb is wrong.`);
      break;
    case 'request_malformed':
      out.push(`The request was refused before routing: ${str(e, 'problem') ?? str(e, 'error') ?? 'malformed'}.`);
      break;
    case 'ip_not_allowed': {
      out.push(`The client address was ${t.clientIp} (taken from the ${t.clientIpVia === 'peer' ? 'TCP peer' : 'X-Forwarded-For chain'}), ${str(e, 'list') === 'deny' ? `which matches the deny entry ${str(e, 'matched')}` : 'which is in none of the allow-list entries'}.`);
      const path = refusing?.rule?.path;
      const allowed = path && config ? lookup(config, path) : null;
      if (Array.isArray(allowed)) out.push(`The list at ${path}: ${allowed.join(', ')}.`);
      if (t.request.headers['x-forwarded-for'] && t.clientIpVia === 'peer') {
        out.push(`X-Forwarded-For was sent (${t.request.headers['x-forwarded-for']}) but the peer ${t.peerIp} is not in gateway.trustedProxies, so it was ignored. If a proxy or load balancer sits in front of the gateway, add its address to gateway.trustedProxies.`);
      }
      out.push('Fix: call from an allowed network, or add the caller\'s CIDR to the list above if it should be allowed.');
      break;
    }
    case 'credential_missing':
      out.push(...diagnoseCredentialMissing(t, e, config));
      break;
    case 'credential_unknown': {
      const hint = str(e, 'key_hint') ?? '';
      out.push(`The key presented (${hint}) matches no key in config v${t.configVersion}.`);
      const start = hint.split('…')[0] ?? '';
      if (config && start.length >= 3) {
        const similar = config.consumers.flatMap((c) => c.keys.filter((k) => k.prefix?.startsWith(start)).map((k) => `${k.id} (consumer ${c.id})`));
        if (similar.length) out.push(`Known keys beginning "${start}": ${similar.slice(0, 5).join(', ')}. A truncated or mistyped copy of one of them?`);
      }
      out.push('Fix: check that the client uses a key issued for this environment; issue a new one with `pinpoint key new` if needed.');
      break;
    }
    case 'credential_expired':
    case 'credential_revoked':
    case 'credential_not_yet_valid': {
      const keyId = str(e, 'key_id');
      if (keyId) {
        const when = str(e, 'expired_at') ?? str(e, 'revoked_at') ?? str(e, 'not_before');
        out.push(`Key ${keyId} of consumer ${str(e, 'consumer')} ${t.code === 'credential_expired' ? 'expired' : t.code === 'credential_revoked' ? 'was revoked' : 'is valid only from'} ${when}${str(e, 'revoked_reason') ? ` (reason: ${str(e, 'revoked_reason')})` : ''}.`);
        const replaced = str(e, 'replaced_by');
        if (replaced) out.push(`It was replaced by key ${replaced}: deploy that key to the client.`);
        else if (config) {
          const consumer = config.consumers.find((c) => c.id === str(e, 'consumer'));
          const live = consumer?.keys.filter((k) => k.id !== keyId && !k.revokedAt && (!k.expiresAt || Date.parse(k.expiresAt) > t.ts));
          out.push(live?.length ? `The consumer has other valid keys: ${live.map((k) => k.id).join(', ')}.` : 'The consumer has no other valid key: issue one (`pinpoint key new`).');
        }
      } else {
        out.push(`The token failed the ${str(e, 'claim') ?? 'time'} check (issuer ${str(e, 'issuer') ?? '?'}). Get a fresh token; if this happens right after issuing, compare the issuer's and the gateway's clocks.`);
      }
      break;
    }
    case 'insufficient_scope': {
      const missing = list(e, 'missing');
      out.push(`The credential ${str(e, 'credential') ?? ''} has [${list(e, 'has').join(' ')}]; ${t.method} on this route needs [${list(e, 'required').join(' ')}], so it lacks [${missing.join(' ')}].`);
      if (config && t.identity?.consumerId) {
        const consumer = config.consumers.find((c) => c.id === t.identity!.consumerId);
        const better = consumer?.keys.filter((k) => missing.every((m) => k.scopes.includes(m)) && !k.revokedAt && (!k.expiresAt || Date.parse(k.expiresAt) > t.ts));
        if (better?.length) out.push(`The same consumer has key(s) with those scopes: ${better.map((k) => k.id).join(', ')}. Is the client using the right key?`);
        const usable = (k: PinpointConfig['consumers'][number]['keys'][number]) => !k.revokedAt && (!k.expiresAt || Date.parse(k.expiresAt) > t.ts) && missing.every((m) => k.scopes.includes(m));
        const others = config.consumers.filter((c) => c.tenant === consumer?.tenant && c.id !== consumer?.id && c.status === 'active' && c.keys.some(usable));
        if (others.length) out.push(`In the same tenant, consumer(s) ${others.map((c) => c.id).join(', ')} hold [${missing.join(' ')}].`);
      }
      if (t.identity?.kind === 'jwt') out.push(`For a token: request it with scope "${missing.join(' ')}" from the issuer.`);
      out.push(`Fix: grant [${missing.join(' ')}] to the credential, use a credential that has it, or change the requirement at the rule shown above if it is wrong.`);
      break;
    }
    case 'permission_denied':
      out.push(`The identity has roles [${list(e, 'has').join(' ')}]; this operation needs one of [${list(e, 'required_any').join(' ')}].`);
      break;
    case 'account_suspended':
      out.push(`The ${str(e, 'suspended')} ${str(e, 'suspended') === 'tenant' ? str(e, 'tenant') : str(e, 'consumer')} is suspended${str(e, 'reason') ? ` (reason: ${str(e, 'reason')})` : ''}. The key itself is valid; reactivate the account (status: active) when the suspension is over.`);
      break;
    case 'rate_limited':
    case 'quota_exhausted':
      out.push(`Policy "${str(e, 'policy')}" allows ${str(e, 'limit')} ${t.code === 'rate_limited' ? `per ${str(e, 'window_seconds')} s (${str(e, 'algorithm')})` : `per ${str(e, 'period')}`} per ${str(e, 'by')}; ${str(e, 'by')} "${str(e, 'subject')}" had used ${str(e, 'used')}.`);
      out.push(t.code === 'rate_limited' ? `The client may retry after ${str(e, 'retry_after_seconds')} s (Retry-After). If several clients share this key, give each its own; add backoff to retry loops.` : `The quota resets at ${str(e, 'resets_at')}.`);
      break;
    case 'payload_too_large':
      out.push(`The body was ${str(e, 'content_length') ?? 'larger than allowed'} bytes; the limit is ${str(e, 'max_body_bytes')}.`);
      break;
    case 'unsupported_media_type':
      out.push(`Content-Type was ${str(e, 'content_type') ?? '(none)'}; the route accepts ${list(e, 'accepted').join(', ')}.`);
      break;
    case 'upstream_unavailable':
    case 'upstream_timeout':
    case 'no_healthy_upstream':
      out.push(`Upstream "${str(e, 'upstream')}"${str(e, 'target') ? ` target ${str(e, 'target')}` : ''}: ${str(e, 'error') ?? t.code}${str(e, 'timeout_ms') ? ` after ${str(e, 'timeout_ms')} ms` : ''}.`);
      if (t.upstream?.attempts.length) out.push(`Attempts: ${t.upstream.attempts.map((a) => `${a.target} -> ${a.error ?? a.status}`).join('; ')}.`);
      out.push('This is not an authorization problem: the gateway allowed the request and the backend failed to answer.');
      break;
    default:
      if (refusing?.detail) out.push(refusing.detail);
  }
  return out;
}

/** The closest routes first, and how many were left out: a 404 is usually a typo of one of them. */
function listNearestRoutes(path: string, config: PinpointConfig): string[] {
  const ranked = nearestRoutes(path, config.routes);
  if (ranked.length === 0) return ['This config has no routes.'];
  const shown = ranked.slice(0, shownRoutes).map((r) => `"${r.id}" ${r.methods.join(', ')} ${r.path}`);
  const more = ranked.length - shown.length;
  return [`Nearest routes to ${path}: ${shown.join('; ')}${more > 0 ? `; … and ${more} more (see the routes block of the config)` : ''}.`];
}

const failModeMeaning: Record<string, string> = {
  open: 'the request was admitted without being counted against the shared limit',
  closed: 'the request was refused with 503 limiter_unavailable',
  local: 'the request was counted by this node alone, so the limit held per node instead of across the cluster',
};

/** Limits decided while the shared counter store (Redis) was unreachable. */
function degradedLimits(t: TraceRecord): string[] {
  return t.checks.filter((c) => c.evidence?.limiter_unavailable !== undefined).map((c) => {
    const mode = str(c.evidence, 'fail_mode') ?? 'open';
    return `Check "${c.id}" could not reach the shared limiter (${str(c.evidence, 'limiter_unavailable')}); its failMode is "${mode}", so ${failModeMeaning[mode] ?? 'its fail mode applied'}. Check Redis and the network to it; the gateway reconnects by itself.`;
  });
}

function lookup(config: PinpointConfig, path: string): unknown {
  let cur: unknown = config;
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    const key = m[1] ?? Number(m[2]);
    cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[key] : undefined;
  }
  return cur;
}

