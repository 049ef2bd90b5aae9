import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Session cookies and CSRF tokens are HMAC-SHA256 signed (node:crypto), with a different
// label per kind so that one can never be replayed as the other.

export interface SessionClaims {
  readonly sid: string;
  readonly user: string;
  /** Unix seconds. */
  readonly exp: number;
}

export type TokenCheck<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: 'malformed' | 'signature' | 'expired' | 'other_session'; readonly exp?: number };

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string) => Buffer.from(s, 'base64url').toString('utf8');

export class WebSigner {
  private readonly key: Buffer;
  constructor(secret: string) {
    this.key = Buffer.from(secret, 'utf8');
  }

  private sign(label: string, payload: string): string {
    return createHmac('sha256', this.key).update(`${label}|${payload}`).digest('base64url');
  }

  private verify(label: string, payload: string, sig: string): boolean {
    const want = Buffer.from(this.sign(label, payload), 'base64url');
    const got = Buffer.from(sig, 'base64url');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  issueSession(user: string, nowMs: number, ttlSeconds: number): { value: string; claims: SessionClaims } {
    const claims = { sid: randomBytes(16).toString('base64url'), user, exp: Math.floor(nowMs / 1000) + ttlSeconds };
    const payload = `${claims.sid}.${b64(user)}.${claims.exp}`;
    return { value: `${payload}.${this.sign('session', payload)}`, claims };
  }

  readSession(value: string, nowMs: number): TokenCheck<SessionClaims> {
    const parts = value.split('.');
    if (parts.length !== 4 || parts.some((p) => p === '' || p.length > 200)) return { ok: false, problem: 'malformed' };
    const [sid, user, exp, sig] = parts as [string, string, string, string];
    if (!this.verify('session', `${sid}.${user}.${exp}`, sig)) return { ok: false, problem: 'signature' };
    const expSec = Number(exp);
    if (!Number.isInteger(expSec)) return { ok: false, problem: 'malformed' };
    if (expSec * 1000 <= nowMs) return { ok: false, problem: 'expired', exp: expSec };
    return { ok: true, value: { sid, user: unb64(user), exp: expSec } };
  }

  /** A token bound to one session: it verifies only together with that session's id. */
  issueCsrf(sid: string, nowMs: number, ttlSeconds: number): string {
    const nonce = randomBytes(12).toString('base64url');
    const exp = Math.floor(nowMs / 1000) + ttlSeconds;
    return `${nonce}.${exp}.${this.sign('csrf', `${sid}.${nonce}.${exp}`)}`;
  }

  readCsrf(token: string, sid: string, nowMs: number): TokenCheck<{ exp: number }> {
    const parts = token.split('.');
    if (parts.length !== 3 || parts.some((p) => p === '' || p.length > 200)) return { ok: false, problem: 'malformed' };
    const [nonce, exp, sig] = parts as [string, string, string];
    // A token signed for another session fails here too: the session id is part of what is signed.
    if (!this.verify('csrf', `${sid}.${nonce}.${exp}`, sig)) return { ok: false, problem: 'other_session' };
    const expSec = Number(exp);
    if (!Number.isInteger(expSec)) return { ok: false, problem: 'malformed' };
    if (expSec * 1000 <= nowMs) return { ok: false, problem: 'expired', exp: expSec };
    return { ok: true, value: { exp: expSec } };
  }
}
