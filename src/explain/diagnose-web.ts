import type { PinpointConfig } from '../config/schema.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { CheckRecord } from '../pipeline/types.ts';

import { list, str } from './evidence.ts';

/**
 * The browser-facing refusals explained: for a WAF block, the rule, the request part and
 * the matched fragment, and the one-line exception that would let it through. Null when
 * the code is not one of them.
 */
export function diagnoseWeb(t: TraceRecord, refusing: CheckRecord | null, config: PinpointConfig | null): string[] | null {
  const e = refusing?.evidence;
  const routeIndex = config && t.routeId ? config.routes.findIndex((r) => r.id === t.routeId) : -1;
  switch (t.code) {
    case 'waf_blocked': {
      const rule = str(e, 'rule') ?? '?';
      const part = str(e, 'part') ?? '?';
      const out = [
        `WAF rule ${rule} (${str(e, 'attack')}, paranoia ${str(e, 'rule_paranoia')}: ${str(e, 'rule_description') ?? ''}) matched in ${part}.`,
        `Matched fragment (after decoding and normalization): ${str(e, 'fragment') ?? ''}`,
      ];
      for (const more of list(e, 'also_matched')) out.push(`Also matched: ${more}`);
      const exceptionPart = part.replace(/\[\d+\]/g, '[*]');
      out.push(`If this request is legitimate (a false positive), except this rule for this part only, under routes[${routeIndex < 0 ? '?' : routeIndex}].waf.exceptions of route "${t.routeId}":`);
      out.push(`    - { rule: ${rule}, part: "${exceptionPart}" }`);
      out.push('Prefer this to disabling the rule or lowering the paranoia level: every other part and rule stay protected.');
      return out;
    }
    case 'cross_site_request': {
      const origin = str(e, 'origin') ?? str(e, 'referer');
      const out: string[] = [];
      if (str(e, 'sec_fetch_site') === 'cross-site') out.push(`The browser sent Sec-Fetch-Site: cross-site: a page on another site${origin ? ` (${origin})` : ''} initiated this request.`);
      else if (origin) out.push(`The request came from origin ${origin}, which is not trusted here; trusted: ${list(e, 'trusted_origins').join(', ')}.`);
      else out.push('A same-site request without Origin: only same-origin pages may send it.');
      out.push('If that origin is your own application (e.g. behind a proxy that changes Host), add it to web.trustedOrigins or the route\'s csrf.trustedOrigins.');
      return out;
    }
    case 'csrf_token_missing':
      return [`No CSRF token was found in ${list(e, 'looked_in').join(' or ')}. The login answer returns it as csrfToken and sets it in the CSRF cookie; the page must echo it on every state-changing request.`];
    case 'csrf_token_invalid':
      return [`The CSRF token sent in ${str(e, 'token_in') ?? '?'} was refused: ${str(e, 'problem') ?? 'invalid'}.`, 'Use the token issued with the current session (log in again if the session changed).'];
    case 'csrf_token_expired':
      return [`The CSRF token sent in ${str(e, 'token_in') ?? '?'} expired at ${str(e, 'expired_at') ?? '?'}. Reload the page to get a fresh one, or raise web.csrfTtlSeconds.`];
    case 'body_invalid':
      return [`The body violates the route's bodySchema at: ${list(e, 'violations').join('; ')}.`, routeIndex >= 0 ? `The schema is at routes[${routeIndex}].bodySchema.` : 'Compare the body with the route\'s bodySchema.'];
    case 'path_ambiguous':
      return [`The path was refused before routing: ${str(e, 'problem') ?? 'ambiguous'}.`, 'Different servers would read this path differently, so the gateway cannot know which policy applies; encode the path exactly once and without ;parameters.'];
    default:
      return null;
  }
}
