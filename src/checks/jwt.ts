import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { IssuerConfig } from '../config/schema.ts';
import type { Directory } from '../credentials/directory.ts';
import type { ReasonCode } from '../reasons/catalogue.ts';
import type { Authenticator } from '../pipeline/run-chain.ts';
import type { ConfigLocation, Deny, Evidence, Identity, RequestContext, Verdict } from '../pipeline/types.ts';

export interface CompiledIssuer {
  readonly config: IssuerConfig;
  readonly key: JWTVerifyGetKey | Uint8Array;
  readonly source: ConfigLocation;
}

export class IssuerConfigError extends Error {}

/** Built once per issuer at config load; the remote JWKS keeps its cache across requests. */
export function compileIssuer(config: IssuerConfig, source: ConfigLocation): CompiledIssuer {
  const hmac = config.algorithms.filter((a) => a.startsWith('HS'));
  if (hmac.length > 0 && hmac.length !== config.algorithms.length) {
    // Mixing HMAC and public-key algorithms on one issuer is what makes key confusion possible.
    throw new IssuerConfigError('an issuer must not mix HS* with public-key algorithms');
  }
  if (hmac.length > 0) {
    if (!config.secret || Buffer.byteLength(config.secret) < 32) throw new IssuerConfigError('HS* algorithms need a secret of at least 32 bytes (RFC 7518 3.2)');
    return { config, key: new TextEncoder().encode(config.secret), source };
  }
  if (config.jwks && config.jwksUri) throw new IssuerConfigError('give either jwks or jwksUri, not both');
  if (config.jwks) {
    try {
      return { config, key: createLocalJWKSet(config.jwks as Parameters<typeof createLocalJWKSet>[0]), source };
    } catch (err) {
      throw new IssuerConfigError(`jwks is not a valid JSON Web Key Set: ${(err as Error).message}`);
    }
  }
  if (config.jwksUri) return { config, key: remoteKeys(config.jwksUri), source };
  throw new IssuerConfigError('a public-key issuer needs jwks or jwksUri');
}

/** The issuer's key set could not be had (unreachable, not 200, not JSON): the issuer's fault, not the token's. */
export class IssuerKeysUnavailableError extends Error {
  override readonly name = 'IssuerKeysUnavailableError';
}

/**
 * jose reports a JWKS endpoint answering 500, a redirect or HTML with the same generic
 * JOSEError it uses for a malformed token; told apart here, where only fetching can fail,
 * so that an identity provider outage is a 503 and not a 401 blaming the caller's token.
 */
function remoteKeys(uri: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(uri), { cooldownDuration: 30_000, cacheMaxAge: 600_000, timeoutDuration: 5_000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      // About the token (its kid or alg has no usable key), not about the endpoint.
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
      throw new IssuerKeysUnavailableError(err instanceof Error ? err.message : String(err), { cause: err });
    }
  };
}

export interface JwtCheckOptions {
  readonly issuers: ReadonlyMap<string, CompiledIssuer>;
  readonly directory: Directory;
  readonly realm: string;
  readonly source: ConfigLocation;
  /** Shared across reloads: verified tokens, keyed by the exact token text. */
  readonly cache: TokenCache;
}

interface CachedToken {
  readonly payload: JWTPayload;
  readonly issuer: CompiledIssuer;
  /** Derived once at verification: a hit allocates nothing. */
  readonly identity: Identity;
  readonly hit: Verdict;
}

/**
 * Verified tokens are cached by their full text until they expire (at most 5 minutes after
 * the verification, however often they are used), so
 * a client reusing a token costs a map lookup; any change to the token misses the cache.
 */
export class TokenCache {
  private readonly entries = new Map<string, { value: CachedToken; until: number }>();
  private readonly max: number;
  constructor(max = 10_000) { this.max = max; }
  get(token: string, now: number): CachedToken | null {
    const e = this.entries.get(token);
    if (!e) return null;
    if (e.until <= now) { this.entries.delete(token); return null; }
    return e.value;
  }
  set(token: string, value: CachedToken, until: number): void {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { value, until });
  }
  clear(): void { this.entries.clear(); }
}

const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createJwtCheck(options: JwtCheckOptions): Authenticator {
  const { issuers, directory, realm, cache } = options;
  const maxBytes = Math.max(...[...issuers.values()].map((i) => i.config.maxTokenBytes), 256);
  // The description can quote the token (its iss): keep only what RFC 6750 3 allows there
  // (%x20-21 / %x23-5B / %x5D-7E), or a control or non-ASCII character makes Node refuse
  // the header and the refusal becomes a 500 (and CR/LF would be header injection).
  const invalidToken = (description: string) => ({ 'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')}"` });
  const deny = (code: ReasonCode, evidence: Evidence, detail: string, rule?: ConfigLocation): Deny => ({
    kind: 'deny', code, evidence, detail, headers: invalidToken(detail), ...(rule ? { rule } : {}),
  });

  /** `verified`: the signature was just checked. A cache hit must not extend its own entry,
   * or a token in steady use would never be checked again against the issuer's current keys. */
  const accept = (ctx: RequestContext, token: string, payload: JWTPayload, issuer: CompiledIssuer): Verdict => {
    const identity = toIdentity(payload, issuer, directory);
    ctx.identity = identity;
    const evidence = { subject: identity.subject, issuer: issuer.config.issuer, consumer: identity.consumerId, scopes: [...identity.scopes], roles: [...identity.roles], exp: payload.exp ?? null };
    remember(token, { payload, issuer, identity, hit: { kind: 'continue', evidence: { ...evidence, cached: true } } }, ctx.now);
    return { kind: 'continue', evidence };
  };

  // Only a fresh verification is remembered: a cache hit must not extend its own entry,
  // or a token in steady use would never be checked again against the issuer's current keys.
  const remember = (token: string, entry: CachedToken, now: number): void => {
    const { payload, issuer } = entry;
    let until = now + 300_000;
    if (typeof payload.exp === 'number') until = Math.min(until, payload.exp * 1000);
    // maxTokenAge is judged at verification; a cached token must not outlive it either.
    const maxAge = issuer.config.maxTokenAgeSeconds;
    if (maxAge && typeof payload.iat === 'number') until = Math.min(until, (payload.iat + maxAge + issuer.config.clockSkewSeconds) * 1000);
    if (until > now) cache.set(token, entry, until);
  };

  return {
    id: 'jwt',
    phase: 'authn',
    source: options.source,
    challenge: `Bearer realm="${realm}"`,
    evaluate(ctx: RequestContext): Verdict | Promise<Verdict> {
      const auth = ctx.headers.authorization;
      if (auth === undefined) return { kind: 'skip', evidence: { authorization: 'absent' } };
      const space = auth.indexOf(' ');
      const scheme = space === -1 ? auth : auth.slice(0, space);
      if (scheme.toLowerCase() !== 'bearer') return { kind: 'skip', evidence: { authorization_scheme: scheme.slice(0, 20) } };
      const token = auth.slice(space + 1).trim();
      if (token.includes(', ')) return deny('credential_malformed', { problem: 'Authorization sent more than once' }, 'the Authorization header was sent more than once');

      // The cache is shared by every route and survives reloads: a hit counts only when this
      // route trusts the very issuer (same compiled config) that verified the token, so a
      // token is never accepted by a route that does not trust its issuer, nor after a reload
      // changed the issuer's audiences, keys or algorithms. Only well-formed tokens are in it.
      const cached = cache.get(token, ctx.now);
      if (cached && issuers.get(cached.issuer.config.issuer) === cached.issuer) {
        const exp = cached.payload.exp;
        const skew = cached.issuer.config.clockSkewSeconds;
        if (typeof exp === 'number' && exp * 1000 + skew * 1000 <= ctx.now) return deny('credential_expired', { exp, issuer: cached.issuer.config.issuer }, 'the token has expired', cached.issuer.source);
        ctx.identity = cached.identity;
        return cached.hit;
      }
      if (token.length > maxBytes) return deny('credential_malformed', { length: token.length, max: maxBytes }, `the token is ${token.length} bytes, more than the ${maxBytes} allowed`);
      if (!compactJws.test(token)) return deny('credential_malformed', { problem: 'not a compact JWS (three base64url parts)' }, 'the bearer token is not a JWT');

      let iss: string | undefined;
      let alg: string | undefined;
      let kid: string | undefined;
      let crit: unknown;
      let claims: Record<string, unknown>;
      let header: Record<string, unknown>;
      try {
        header = decodeProtectedHeader(token) as Record<string, unknown>;
        claims = decodeJwt(token);
      } catch {
        return deny('credential_malformed', { problem: 'header or payload is not base64url JSON' }, 'the token cannot be decoded');
      }
      // The decoders check JSON, not member types: an object where a string belongs would reach
      // the messages below (and `${}` of {"toString":null} throws), so it is refused here.
      for (const [where, name, value] of [['header', 'alg', header.alg], ['header', 'kid', header.kid], ['payload', 'iss', claims.iss]] as const) {
        if (value !== undefined && typeof value !== 'string') {
          return deny('credential_malformed', { problem: `${where} member ${name} is not a string` }, `the token's ${name} is not a string`);
        }
      }
      alg = header.alg as string | undefined; kid = header.kid as string | undefined; crit = header.crit;
      iss = claims.iss as string | undefined;
      const issuer = iss === undefined ? undefined : issuers.get(iss);
      if (!issuer) {
        return deny('token_issuer_untrusted', { iss: iss ?? null, trusted: [...issuers.keys()] }, iss === undefined ? 'the token has no iss claim' : `tokens from issuer ${iss} are not accepted here`);
      }
      const cfg = issuer.config;
      if (!alg || !(cfg.algorithms as readonly string[]).includes(alg)) {
        return deny('token_algorithm_rejected', { alg: alg ?? null, allowed: cfg.algorithms, issuer: cfg.issuer }, `algorithm ${alg ?? '(none)'} is not accepted for this issuer`, issuer.source);
      }
      // No JWS extension is supported (RFC 7515 4.1.11: a recipient that does not understand
      // a critical one must refuse): said here, or jose's "not supported" would read as an
      // algorithm refusal. This also covers b64:false (RFC 7797), which needs crit.
      if (crit !== undefined) {
        return deny('credential_malformed', { problem: 'crit header present', issuer: cfg.issuer, alg, kid: kid ?? null }, 'the token declares critical header extensions, which are not supported', issuer.source);
      }
      const verify = issuer.key instanceof Uint8Array
        ? jwtVerify(token, issuer.key, verifyOptions(cfg, ctx.now))
        : jwtVerify(token, issuer.key, verifyOptions(cfg, ctx.now));
      return verify.then(
        ({ payload }) => accept(ctx, token, payload, issuer),
        (err: unknown) => mapJoseError(err, { issuer: cfg.issuer, alg, kid: kid ?? null }, issuer.source, deny),
      );
    },
  };
}

function verifyOptions(cfg: IssuerConfig, now: number) {
  return {
    algorithms: cfg.algorithms,
    issuer: cfg.issuer,
    audience: cfg.audiences,
    clockTolerance: cfg.clockSkewSeconds,
    currentDate: new Date(now),
    ...(cfg.requireExp ? { requiredClaims: ['exp'] } : {}),
    ...(cfg.maxTokenAgeSeconds ? { maxTokenAge: cfg.maxTokenAgeSeconds } : {}),
  };
}

type DenyFn = (code: ReasonCode, evidence: Evidence, detail: string, rule?: ConfigLocation) => Deny;

function mapJoseError(err: unknown, base: Record<string, string | null>, rule: ConfigLocation, deny: DenyFn): Verdict {
  if (err instanceof errors.JWTExpired) return deny('credential_expired', { ...base, claim: 'exp' }, 'the token has expired', rule);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (claim === 'aud') return deny('token_audience_mismatch', { ...base, claim }, 'the token was issued for another audience', rule);
    if (claim === 'iss') return deny('token_issuer_untrusted', { ...base, claim }, 'the token issuer is not accepted here', rule);
    // A non-numeric nbf is malformed (the generic case below), not "valid later".
    if (claim === 'nbf' && err.reason === 'check_failed') return deny('credential_not_yet_valid', { ...base, claim }, 'the token is not valid yet (nbf)', rule);
    if (claim === 'iat') return deny(err.reason === 'check_failed' && /past\)/.test(err.message) ? 'credential_expired' : 'credential_not_yet_valid', { ...base, claim, problem: err.message }, `the token iat check failed: ${err.message}`, rule);
    return deny('credential_malformed', { ...base, claim, problem: err.message }, `claim ${claim} is ${err.reason === 'missing' ? 'missing' : 'invalid'}`, rule);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return deny('token_signature_invalid', base, 'the token signature does not verify', rule);
  if (err instanceof errors.JWKSNoMatchingKey) return deny('token_signature_invalid', { ...base, problem: 'no signing key with this kid' }, 'the token was signed with a key this gateway does not know', rule);
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return deny('token_algorithm_rejected', base, 'the token algorithm is not accepted', rule);
  if (err instanceof IssuerKeysUnavailableError) {
    return { kind: 'deny', code: 'issuer_keys_unavailable', evidence: { ...base, problem: err.message.slice(0, 200) }, detail: 'the issuer signing keys could not be fetched', rule };
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (err instanceof Error && /fetch|ECONN|network/i.test(err.message) && !(err instanceof errors.JOSEError))) {
    return { kind: 'deny', code: 'issuer_keys_unavailable', evidence: { ...base, problem: (err as Error).message.slice(0, 200) }, detail: 'the issuer signing keys could not be fetched', rule };
  }
  if (err instanceof errors.JOSEError) return deny('credential_malformed', { ...base, problem: err.code }, 'the token is not a valid JWT', rule);
  return { kind: 'deny', code: 'issuer_keys_unavailable', evidence: { ...base, problem: String(err).slice(0, 200) }, detail: 'the token could not be verified', rule };
}

function claimList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function toIdentity(payload: JWTPayload, issuer: CompiledIssuer, directory: Directory): Identity {
  const cfg = issuer.config;
  const sub = String(payload[cfg.subjectClaim] ?? '');
  const scopes = new Set([...claimList(payload[cfg.scopeClaim]), ...(cfg.scopeClaim === 'scope' ? claimList(payload['scp']) : [])]);
  // `iss#*` maps every subject of an issuer to one consumer (an app whose users sign in there).
  const consumerId = directory.consumerBySubject.get(`${cfg.issuer}#${sub}`) ?? directory.consumerBySubject.get(sub) ?? directory.consumerBySubject.get(`${cfg.issuer}#*`) ?? null;
  const consumer = consumerId ? directory.consumers.get(consumerId) : undefined;
  return {
    kind: 'jwt', credentialId: `jwt:${sub}@${cfg.issuer}`, consumerId, tenantId: consumer?.tenantId ?? null, subject: sub,
    scopes, roles: new Set(claimList(payload[cfg.rolesClaim])), claims: payload,
    expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
  };
}
