import type { RequestContext } from '../pipeline/types.ts';
import type { SessionClaims } from './tokens.ts';

// The verified session of a request, for the CSRF check that binds its token to it.
// Keyed by the request's context, so it lives exactly as long as the request.
const sessions = new WeakMap<RequestContext, SessionClaims>();

export function rememberSession(ctx: RequestContext, claims: SessionClaims): void {
  sessions.set(ctx, claims);
}

export function sessionOf(ctx: RequestContext): SessionClaims | null {
  return sessions.get(ctx) ?? null;
}
