import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';
import { readCookie } from '../web/cookies.ts';
import { originOfUrl, selfOrigin } from '../web/origin.ts';
import { sessionOf } from '../web/session-state.ts';
import type { WebSigner } from '../web/tokens.ts';

// CSRF protection for routes a browser authenticates to with a cookie (OWASP CSRF
// cheat sheet): Fetch Metadata first, then Origin (or Referer), then a signed
// double-submit token bound to the session. Requests authenticated by a header (API key,
// bearer token) are exempt: a cross-site page cannot make a browser attach those.

export interface CsrfOptions {
  readonly signer: WebSigner;
  /** Exact origins; `self` is resolved per request to the origin the request was addressed to. */
  readonly trustedOrigins: readonly string[];
  readonly checkToken: boolean;
  readonly header: string;
  readonly field: string;
  readonly cookie: string;
  readonly source: ConfigLocation;
}

// RFC 9110 9.2.1: safe methods must not change state, so they are never refused here.
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function createCsrfCheck(options: CsrfOptions): Check {
  const explicit = new Set(options.trustedOrigins.filter((o) => o !== 'self'));
  const allowSelf = options.trustedOrigins.includes('self');
  const trusted = (origin: string, ctx: RequestContext): boolean => explicit.has(origin) || (allowSelf && origin === selfOrigin(ctx));
  const listed = (ctx: RequestContext): string[] => [...(allowSelf ? [`self (${selfOrigin(ctx) ?? 'no Host'})`] : []), ...explicit];
  const deny = (code: 'cross_site_request' | 'csrf_token_missing' | 'csrf_token_invalid' | 'csrf_token_expired', evidence: Record<string, string | readonly string[] | null>, detail: string): Verdict =>
    ({ kind: 'deny', code, evidence, detail });

  return {
    id: 'csrf',
    phase: 'protect',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      if (safeMethods.has(ctx.method)) return { kind: 'continue', evidence: { safe_method: ctx.method } };
      if (ctx.identity && ctx.identity.kind !== 'session') return { kind: 'continue', evidence: { exempt: `authenticated by a header credential (${ctx.identity.kind})` } };

      const site = ctx.headers['sec-fetch-site'];
      if (site === 'cross-site') {
        return deny('cross_site_request', { sec_fetch_site: site, origin: ctx.headers.origin ?? null }, 'This request was sent by another site; state-changing requests must come from this application.');
      }
      const originHeader = ctx.headers.origin;
      const referer = ctx.headers.referer;
      const origin = originHeader ?? (referer ? originOfUrl(referer) ?? 'invalid-referer' : null);
      const via = originHeader !== undefined ? 'origin' : 'referer';
      if (origin !== null && !trusted(origin, ctx)) {
        return deny('cross_site_request', { [via]: origin, sec_fetch_site: site ?? null, trusted_origins: listed(ctx) }, `Requests from ${origin === 'null' ? 'an opaque origin' : origin} are not accepted here.`);
      }
      if (site === 'same-site' && origin === null) {
        return deny('cross_site_request', { sec_fetch_site: site, origin: null, trusted_origins: listed(ctx) }, 'A same-site (not same-origin) request without an Origin header is not accepted here.');
      }
      if (!options.checkToken) return { kind: 'continue', evidence: { origin, sec_fetch_site: site ?? null, token: 'not required' } };

      const fromHeader = ctx.headers[options.header];
      const fromField = fromHeader === undefined ? formField(ctx, options.field) : null;
      const sent = typeof fromHeader === 'string' ? fromHeader : fromField;
      const where = typeof fromHeader === 'string' ? `header ${options.header}` : `form field ${options.field}`;
      if (!sent) {
        return deny('csrf_token_missing', { looked_in: [`header ${options.header}`, `form field ${options.field}`], origin }, `Send the CSRF token in the ${options.header} header or the ${options.field} form field.`);
      }
      const session = sessionOf(ctx);
      if (!session) return deny('csrf_token_invalid', { token_in: where, problem: 'no session to bind the token to' }, 'The CSRF token does not belong to a session; log in again.');
      const cookie = readCookie(ctx.headers, options.cookie);
      if (cookie !== sent) {
        return deny('csrf_token_invalid', { token_in: where, problem: cookie === null ? `the ${options.cookie} cookie is missing (double submit)` : `the token differs from the ${options.cookie} cookie` }, 'The CSRF token is not valid for this session; reload the page.');
      }
      const check = options.signer.readCsrf(sent, session.sid, ctx.now);
      if (!check.ok) {
        if (check.problem === 'expired') {
          return deny('csrf_token_expired', { token_in: where, expired_at: new Date((check.exp ?? 0) * 1000).toISOString() }, 'The CSRF token has expired; reload the page to get a new one.');
        }
        return deny('csrf_token_invalid', { token_in: where, problem: check.problem === 'malformed' ? 'not a token this gateway issues' : 'signed for another session or with another secret' }, 'The CSRF token is not valid for this session; reload the page.');
      }
      return { kind: 'continue', evidence: { origin, sec_fetch_site: site ?? null, token_in: where, token_expires_at: new Date(check.value.exp * 1000).toISOString() } };
    },
  };
}

function formField(ctx: RequestContext, field: string): string | null {
  const fields = ctx.body?.fields;
  if (!fields) return null;
  for (const [k, v] of fields) if (k === field) return v;
  return null;
}
