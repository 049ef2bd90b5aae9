import type { Authenticator } from '../pipeline/run-chain.ts';
import type { ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';
import { readCookie } from './cookies.ts';
import { rememberSession } from './session-state.ts';
import type { WebSigner } from './tokens.ts';

export interface SessionCheckOptions {
  readonly cookie: string;
  readonly signer: WebSigner;
  readonly realm: string;
  readonly source: ConfigLocation;
}

const noScopes: ReadonlySet<string> = new Set();

/** Authenticates a browser by its signed session cookie; skips when there is none, like every authenticator. */
export function createSessionCheck(options: SessionCheckOptions): Authenticator {
  const { cookie, signer } = options;
  return {
    id: 'session',
    phase: 'authn',
    source: options.source,
    challenge: `Cookie realm="${options.realm}", cookie="${cookie}"`,
    evaluate(ctx: RequestContext): Verdict {
      const value = readCookie(ctx.headers, cookie);
      if (value === null) return { kind: 'skip', evidence: { cookie, present: false } };
      const r = signer.readSession(value, ctx.now);
      if (!r.ok) {
        if (r.problem === 'expired') {
          return { kind: 'deny', code: 'credential_expired', evidence: { cookie, expired_at: new Date((r.exp ?? 0) * 1000).toISOString() }, detail: 'The session has expired; log in again.' };
        }
        return { kind: 'deny', code: r.problem === 'malformed' ? 'credential_malformed' : 'token_signature_invalid', evidence: { cookie, problem: r.problem === 'malformed' ? 'not a session cookie this gateway issues' : 'signature does not verify (tampered, or signed with another web.secret)' }, detail: 'The session cookie is not valid; log in again.' };
      }
      const { sid, user, exp } = r.value;
      rememberSession(ctx, r.value);
      ctx.identity = { kind: 'session', credentialId: `session:${sid.slice(0, 8)}`, consumerId: null, tenantId: null, subject: user, scopes: noScopes, roles: noScopes, expiresAt: exp * 1000 };
      return { kind: 'continue', evidence: { session: sid.slice(0, 8), user, expires_at: new Date(exp * 1000).toISOString() } };
    },
  };
}
