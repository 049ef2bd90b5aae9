import type { Deny, RequestContext } from '../pipeline/types.ts';
import { serializeCookie } from './cookies.ts';
import { cameOverHttps } from './origin.ts';
import type { WebConfig } from './config-schema.ts';
import type { WebSigner } from './tokens.ts';

/** An answer the gateway gives itself instead of proxying (the demo login). */
export interface LocalAnswer {
  readonly kind: 'answer';
  readonly status: number;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string;
  readonly evidence: Readonly<Record<string, string>>;
}

export type Responder = (ctx: RequestContext) => LocalAnswer | Deny;

/**
 * The demo login: `user=alice` (form or JSON) for a configured user, no password
 * (development only). Issues the session cookie (HttpOnly: scripts never need it) and the
 * CSRF cookie (readable by the page's script, which echoes it in X-CSRF-Token: the double
 * submit), and answers the token as `csrfToken` for clients that do not read cookies.
 */
export function createLoginResponder(web: WebConfig, signer: WebSigner): Responder {
  const users = new Set(web.users);
  return (ctx): LocalAnswer | Deny => {
    const user = userOf(ctx);
    if (user === null) {
      return { kind: 'deny', code: 'body_invalid', evidence: { violations: ['$.user: required (form field user=... or JSON {"user": ...})'] }, detail: 'The login needs a user: send the form field user.' };
    }
    if (!users.has(user)) {
      return { kind: 'deny', code: 'credential_unknown', evidence: { user: user.slice(0, 64), known_users: web.users }, detail: 'No such user.' };
    }
    const session = signer.issueSession(user, ctx.now, web.sessionTtlSeconds);
    const csrfToken = signer.issueCsrf(session.claims.sid, ctx.now, web.csrfTtlSeconds);
    const secure = web.secureCookies === 'always' || (web.secureCookies === 'auto' && cameOverHttps(ctx));
    const cookies = [
      serializeCookie(web.sessionCookie, session.value, { maxAgeSeconds: web.sessionTtlSeconds, httpOnly: true, secure, sameSite: web.sameSite }),
      serializeCookie(web.csrfCookie, csrfToken, { maxAgeSeconds: Math.min(web.csrfTtlSeconds, web.sessionTtlSeconds), httpOnly: false, secure, sameSite: web.sameSite }),
    ];
    const body = JSON.stringify({ user, csrfToken, expiresAt: new Date(session.claims.exp * 1000).toISOString() });
    return {
      kind: 'answer',
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'set-cookie': cookies },
      body,
      evidence: { user, session: session.claims.sid.slice(0, 8), secure_cookies: String(secure), same_site: web.sameSite },
    };
  };
}

function userOf(ctx: RequestContext): string | null {
  const body = ctx.body;
  if (!body || body.parseError) return null;
  if (body.fields) {
    for (const [k, v] of body.fields) if (k === 'user') return v.trim() || null;
    return null;
  }
  const json = body.json;
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const u = (json as Record<string, unknown>).user;
    return typeof u === 'string' && u.trim() ? u.trim() : null;
  }
  return null;
}
