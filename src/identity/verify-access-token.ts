import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { ReasonCode } from '../reasons/catalogue.ts';
import type { Evidence } from '../pipeline/types.ts';
import type { SigningKeyRing } from './signing-keys.ts';

export interface AccessTokenClaims {
  readonly appid: string;
  readonly oid: string;
  readonly tid: string;
  readonly iss: string;
  readonly aud: string;
  readonly exp: number;
}

export type TokenVerdict =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly code: ReasonCode; readonly message: string; readonly evidence: Evidence };

export interface TokenExpectations {
  /** The resource the vault answers for (e.g. https://vault.localhost). */
  readonly audience: string;
  /** Issuers accepted: `https://<authority host>/<tenant>/v2.0` for every tenant and authority host. */
  readonly issuers: ReadonlySet<string>;
  readonly clockToleranceSeconds: number;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/**
 * Verifies a vault access token against the token service's own key ring (no network), then
 * says precisely which property failed, in the words the caller sees and the evidence explain reads.
 */
export class AccessTokenVerifier {
  private readonly ring: SigningKeyRing;
  private generation = -1;
  private keySet: ReturnType<typeof createLocalJWKSet> | null = null;

  constructor(ring: SigningKeyRing) {
    this.ring = ring;
  }

  private keys(): ReturnType<typeof createLocalJWKSet> {
    if (!this.keySet || this.generation !== this.ring.generation) {
      this.keySet = createLocalJWKSet(this.ring.jwks());
      this.generation = this.ring.generation;
    }
    return this.keySet;
  }

  async verify(token: string, expect: TokenExpectations, nowMs = Date.now()): Promise<TokenVerdict> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys(), { algorithms: ['RS256'], clockTolerance: expect.clockToleranceSeconds, currentDate: new Date(nowMs) }));
    } catch (err) {
      return fromJoseError(err, token, nowMs);
    }
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    const audience = (aud ?? '').replace(/\/$/, '');
    if (audience !== expect.audience) {
      return { ok: false, code: 'token_audience_mismatch', message: `AKV10022: Invalid audience. Expected ${expect.audience}, found: ${aud ?? '(none)'}.`, evidence: { expected_audience: expect.audience, token_audience: aud ?? null } };
    }
    if (!payload.iss || !expect.issuers.has(payload.iss)) {
      return { ok: false, code: 'token_issuer_untrusted', message: `AKV10032: Invalid issuer. Expected one of ${[...expect.issuers].join(', ')}, found: ${payload.iss ?? '(none)'}.`, evidence: { token_issuer: payload.iss ?? null, accepted_issuers: [...expect.issuers] } };
    }
    const { appid, oid, tid } = payload as { appid?: unknown; oid?: unknown; tid?: unknown };
    if (typeof appid !== 'string' || typeof oid !== 'string' || typeof tid !== 'string' || typeof payload.exp !== 'number') {
      return { ok: false, code: 'credential_malformed', message: 'AKV10001: The token lacks one of the claims appid, oid, tid or exp.', evidence: { problem: 'missing appid/oid/tid/exp claim' } };
    }
    return { ok: true, claims: { appid, oid, tid, iss: payload.iss, aud: audience, exp: payload.exp } };
  }
}

function fromJoseError(err: unknown, token: string, nowMs: number): TokenVerdict {
  const now = Math.floor(nowMs / 1000);
  if (err instanceof errors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? err.payload.exp : null;
    return { ok: false, code: 'credential_expired', message: `Token expired at ${exp ? iso(exp) : '?'} (now ${iso(now)}); get a new token.`, evidence: { claim: 'exp', exp: exp ? iso(exp) : null, now: iso(now), issuer: typeof err.payload.iss === 'string' ? err.payload.iss : null } };
  }
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') {
    const nbf = typeof err.payload.nbf === 'number' ? err.payload.nbf : null;
    return { ok: false, code: 'credential_not_yet_valid', message: `Token is not valid before ${nbf ? iso(nbf) : '?'} (now ${iso(now)}); check the clocks of the token service and the vault.`, evidence: { claim: 'nbf', not_before: nbf ? iso(nbf) : null, now: iso(now), issuer: typeof err.payload.iss === 'string' ? err.payload.iss : null } };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    const kid = kidOf(token);
    const why = err instanceof errors.JWKSNoMatchingKey ? `no key with kid ${kid ?? '(none)'} is published by this token service` : 'the signature does not verify with the published key';
    return { ok: false, code: 'token_signature_invalid', message: `Invalid token signature: ${why}.`, evidence: { kid, problem: why } };
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return { ok: false, code: 'token_algorithm_rejected', message: 'Invalid token: only RS256 tokens are accepted.', evidence: { problem: 'algorithm not RS256' } };
  }
  return { ok: false, code: 'credential_malformed', message: 'AKV10001: The bearer token is malformed.', evidence: { problem: err instanceof Error ? err.message.slice(0, 120) : 'malformed' } };
}

function kidOf(token: string): string | null {
  try {
    const kid = decodeProtectedHeader(token).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}
