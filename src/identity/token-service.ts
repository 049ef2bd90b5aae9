import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import type { AuthAttempt, AuthGate, AuthThrottled } from '../limits/auth-failure-throttle.ts';
import { canonicalIp } from '../net/cidr-set.ts';
import type { Logger } from '../server/logger.ts';
import type { AppDirectory, AppRegistration } from './apps.ts';
import { authenticateClient } from './client-auth.ts';
import { oauthError, oauthErrorBody, type OAuthError } from './oauth-errors.ts';
import type { SigningKeyRing } from './signing-keys.ts';

export interface TokenServiceOptions {
  readonly apps: () => AppDirectory;
  readonly keys: SigningKeyRing;
  /** Resources (token audiences) this service issues tokens for, e.g. https://vault.localhost. */
  readonly resources: () => ReadonlySet<string>;
  /** host:port values clients use as authority; the first is used when the Host header is not one of them. */
  readonly authorityHosts: () => readonly string[];
  readonly tokenLifetimeSeconds: number;
  readonly now?: () => number;
  /** Called once per token request, for the audit log: never with a secret or a token. */
  readonly onTokenRequest?: (event: TokenRequestEvent) => void;
  /** Brute-force protection of client secrets and assertions: failures per client address, and globally. */
  readonly clientAuthThrottle?: AuthGate | undefined;
  readonly logger?: Logger | undefined;
}

export interface TokenRequestEvent {
  readonly tenant: string;
  readonly clientId: string | null;
  readonly objectId: string | null;
  readonly clientIp: string;
  readonly status: number;
  /** The OAuth error code when refused. */
  readonly error: string | null;
  readonly durationMs: number;
}

const MAX_FORM_BYTES = 64 * 1024;
const PATH = /^\/([A-Za-z0-9._-]{1,64})\/(v2\.0\/\.well-known\/openid-configuration|\.well-known\/openid-configuration|oauth2\/v2\.0\/token|oauth2\/token|discovery\/v2\.0\/keys|discovery\/keys)\/?$/;

/** The issuer of a tenant's tokens as seen from `hostPort`: the same scheme/host/port as the authority. */
export const issuerFor = (hostPort: string, tenant: string): string => `https://${hostPort}/${tenant}/v2.0`;

/** True when `pathname` belongs to the token service rather than to a vault. */
export function isTokenServicePath(pathname: string): boolean {
  return PATH.test(pathname);
}

/**
 * The OAuth 2.0 client-credentials token service with OpenID discovery and JWKS, shaped like
 * Entra ID's v2.0 endpoints so that @azure/identity and MSAL can use it as their authority.
 */
export function createTokenService(options: TokenServiceOptions): (req: IncomingMessage, res: ServerResponse, pathname: string) => void {
  const now = options.now ?? Date.now;
  return (req, res, pathname) => {
    const m = PATH.exec(pathname);
    if (!m) return sendJson(res, 404, { error: 'not_found', error_description: 'No such token service endpoint.' });
    const tenant = m[1]!;
    const endpoint = m[2]!;
    const host = authorityHost(req.headers.host, options.authorityHosts());
    if (!options.apps().tenants.has(tenant)) {
      return sendOAuthError(res, oauthError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`), now());
    }
    const base = `https://${host}/${tenant}`;
    if (endpoint.endsWith('openid-configuration')) {
      return sendJson(res, 200, {
        issuer: issuerFor(host, tenant),
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        grant_types_supported: ['client_credentials'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        claims_supported: ['aud', 'iss', 'iat', 'nbf', 'exp', 'appid', 'azp', 'oid', 'sub', 'tid', 'ver'],
        tenant_region_scope: null,
        cloud_instance_name: host,
      });
    }
    if (endpoint.startsWith('discovery')) return sendJson(res, 200, options.keys.jwks());
    if (req.method !== 'POST') return sendOAuthError(res, oauthError(400, 'invalid_request', 900561, 'The endpoint only accepts POST requests.'), now());
    readForm(req, (form) => {
      if (!form) return sendOAuthError(res, oauthError(400, 'invalid_request', 900144, 'The request body must be application/x-www-form-urlencoded and at most 64 KB.'), now());
      const started = performance.now();
      const report = (status: number, error: string | null, app: AppRegistration | null) => options.onTokenRequest?.({
        tenant, clientId: app?.clientId ?? form.get('client_id'), objectId: app?.objectId ?? null, clientIp: req.socket.remoteAddress ?? '', status, error,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      });
      const clientIp = canonicalIp(req.socket.remoteAddress ?? '0.0.0.0');
      // Entra ID answers a throttled client-credentials request with 429 and Retry-After; MSAL
      // (and so @azure/identity) honours it. A lock cannot be probed with guesses: the right
      // secret gets the same answer until it ends.
      const throttled = (refused: AuthThrottled) => {
        sendOAuthError(res, oauthError(429, 'temporarily_unavailable', 50053, `Too many failed client authentications from this address. Retry after ${refused.retryAfterSeconds} seconds.`), now(), { 'retry-after': String(refused.retryAfterSeconds) });
        report(429, 'temporarily_unavailable', null);
      };
      const decide = (attempt: AuthAttempt | null) => {
        if (attempt?.refused) { throttled(attempt.refused); return; }
        void judgeTokenRequest(options, tenant, `${base}/oauth2/${endpoint.includes('v2.0') ? 'v2.0/' : ''}token`, form).then(
          async (out) => {
            // The verdict is counted before the answer goes out; past the budget a right and a
            // wrong secret get the same 429 (a late attempt of a parallel burst learns nothing).
            if ('error' in out) {
              // Only a wrong secret or assertion is a guess; a request refused before its credential was looked at records nothing.
              if (out.error !== 'invalid_client') { sendOAuthError(res, out, now()); report(out.status, out.error, null); return; }
              const verdict = await attempt?.failed(now());
              const lock = verdict?.lock;
              if (lock) options.logger?.warn({ event: 'token_client_auth_locked', client: lock.client, scope: lock.scope, limit: lock.limit, windowSeconds: lock.windowSeconds, tenant }, `token service: client authentication locked for ${lock.scope === 'client' ? lock.client : 'unproven clients'} after ${lock.limit} failures within ${lock.windowSeconds} s`);
              if (verdict?.refused) { throttled(verdict.refused); return; }
              sendOAuthError(res, out, now()); report(out.status, out.error, null);
            } else {
              const late = await attempt?.succeeded(now());
              if (late) { throttled(late); return; }
              sendJson(res, 200, await signToken(options, tenant, host, out.app, out.resource, now())); report(200, null, out.app);
            }
          },
        ).catch(() => {
          // Judging or signing failed (nothing above throws by design): a 400, never an unhandled rejection.
          if (res.headersSent) return;
          sendOAuthError(res, oauthError(400, 'invalid_request', 90000, 'The token request could not be processed.'), now()); report(400, 'invalid_request', null);
        });
      };
      const pending = options.clientAuthThrottle?.attempt(clientIp, now()) ?? null;
      if (pending instanceof Promise) void pending.then(decide);
      else decide(pending);
    });
  };
}

interface TokenAnswer {
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly ext_expires_in: number;
  readonly access_token: string;
}

/**
 * Everything about a token request that can refuse it, the client's credential last: an answer
 * that depends on the credential (anything after it) must go through the brute-force verdict
 * first, and a refusal decided before it (grant, scope, resource) says nothing about it.
 */
async function judgeTokenRequest(options: TokenServiceOptions, tenant: string, tokenEndpoint: string, form: URLSearchParams): Promise<{ app: AppRegistration; resource: string } | OAuthError> {
  const grant = form.get('grant_type');
  if (!grant) return oauthError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
  if (grant !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'; this token service supports client_credentials only.`);
  const resource = resourceOf(form);
  if ('error' in resource) return resource;
  if (!options.resources().has(resource.resource)) {
    return oauthError(400, 'invalid_resource', 500011, `The resource principal named ${resource.resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  }
  const app = await authenticateClient(options.apps(), tenant, form, tokenEndpoint);
  if ('error' in app) return app;
  return { app, resource: resource.resource };
}

/** Signed only once the verdict let the request through: a late right secret does no more work than a wrong one. */
async function signToken(options: TokenServiceOptions, tenant: string, host: string, app: AppRegistration, resource: string, nowMs: number): Promise<TokenAnswer> {
  const iat = Math.floor(nowMs / 1000);
  const lifetime = options.tokenLifetimeSeconds;
  const key = options.keys.active;
  const accessToken = await new SignJWT({ appid: app.clientId, azp: app.clientId, appidacr: '1', tid: tenant, oid: app.objectId, sub: app.objectId, ver: '2.0', uti: randomUUID() })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setAudience(resource)
    .setIssuer(issuerFor(host, tenant))
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + lifetime)
    .sign(key.privateKey);
  return { token_type: 'Bearer', expires_in: lifetime - 1, ext_expires_in: lifetime - 1, access_token: accessToken };
}

/** v2.0 sends `scope=<resource>/.default`; v1.0 sends `resource=<resource>`. */
function resourceOf(form: URLSearchParams): { resource: string } | OAuthError {
  const scope = form.get('scope');
  if (scope) {
    const scopes = scope.split(' ').filter((s) => s && s !== 'openid' && s !== 'profile' && s !== 'offline_access');
    const target = scopes.find((s) => s.endsWith('/.default'));
    if (!target || scopes.length !== 1) {
      return oauthError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    return { resource: target.slice(0, -'/.default'.length).replace(/\/$/, '') };
  }
  const resource = form.get('resource');
  if (resource) return { resource: resource.replace(/\/$/, '') };
  return oauthError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
}

function authorityHost(hostHeader: string | undefined, known: readonly string[]): string {
  const h = (hostHeader ?? '').toLowerCase();
  return known.includes(h) ? h : known[0]!;
}

function readForm(req: IncomingMessage, done: (form: URLSearchParams | null) => void): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_FORM_BYTES) over = true;
    else chunks.push(c);
  });
  req.on('end', () => done(over || type !== 'application/x-www-form-urlencoded' ? null : new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
  req.on('error', () => done(null));
}

function sendOAuthError(res: ServerResponse, e: OAuthError, nowMs: number, extra: Readonly<Record<string, string>> = {}): void {
  sendBody(res, e.status, oauthErrorBody(e, nowMs), { pragma: 'no-cache', ...extra });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendBody(res, status, JSON.stringify(value));
}

function sendBody(res: ServerResponse, status: number, body: string, extra: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
