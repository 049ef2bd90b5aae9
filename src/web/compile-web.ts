import type { IncomingHttpHeaders } from 'node:http';
import { BodySchemaError, createBodyValidationCheck } from '../checks/body-validation.ts';
import { createCsrfCheck } from '../checks/csrf.ts';
import type { PathSegment } from '../config/load.ts';
import type { RouteConfig } from '../config/schema.ts';
import type { Authenticator } from '../pipeline/run-chain.ts';
import type { Check, ConfigLocation } from '../pipeline/types.ts';
import { createWafCheck, WafConfigError } from '../waf/waf-check.ts';
import type { RouteCsrfConfig, WebConfig } from './config-schema.ts';
import { createLoginResponder, type Responder } from './login.ts';
import { mediaTypeOf } from './request-body.ts';
import { createSessionCheck } from './session-check.ts';
import { WebSigner } from './tokens.ts';

/** The browser-facing part of a route's chain, built once at load (see config/compile.ts). */
export interface WebRouteChecks {
  readonly preAuth: readonly Check[];
  readonly authenticators: readonly Authenticator[];
  readonly protect: readonly Check[];
  /** Set on routes the gateway answers itself (the login). */
  readonly respond: Responder | null;
  /** Whether this request's body must be buffered for the checks; null: never (stream it). */
  readonly bodyNeeded: ((headers: IncomingHttpHeaders) => boolean) | null;
  /** The request header the CSRF check reads its token from (lower case); null: no token checked here. */
  readonly csrfTokenHeader: string | null;
}

export interface WebCompileContext {
  readonly web: WebConfig | undefined;
  readonly realm: string;
  readonly apiKeyHeader: string;
  readonly locate: (path: readonly PathSegment[]) => ConfigLocation;
  readonly at: (...p: PathSegment[]) => PathSegment[];
  readonly fail: (path: readonly PathSegment[], message: string) => never;
}

const signers = new WeakMap<WebConfig, WebSigner>();
function signerFor(web: WebConfig): WebSigner {
  let s = signers.get(web);
  if (!s) { s = new WebSigner(web.secret); signers.set(web, s); }
  return s;
}

const none: WebRouteChecks = { preAuth: [], authenticators: [], protect: [], respond: null, bodyNeeded: null, csrfTokenHeader: null };
const always = () => true;

export function compileWebRoute(route: RouteConfig, c: WebCompileContext): WebRouteChecks {
  if (!route.session && !route.csrf && !route.waf && !route.bodySchema) return none;
  const { at, fail, locate } = c;
  const needWeb = (field: string): WebConfig => c.web ?? fail(at(field), `${field} needs the top-level web block (web.secret signs sessions and CSRF tokens)`);
  const preAuth: Check[] = [];
  const authenticators: Authenticator[] = [];
  const protect: Check[] = [];
  let respond: Responder | null = null;
  let bodyAlways = false;
  let csrfField: string | null = null;

  if (route.waf) {
    try {
      preAuth.push(createWafCheck({
        config: route.waf, skipHeaders: new Set([c.apiKeyHeader]), source: locate(at('waf')),
      }));
    } catch (err) {
      if (err instanceof WafConfigError) fail(at('waf', ...err.path), err.message);
      throw err;
    }
    bodyAlways = true;
  }
  if (route.session) {
    const web = needWeb('session');
    const signer = signerFor(web);
    if (route.session.mode === 'login') {
      if (web.users.length === 0) fail(at('session'), 'a login route needs web.users (the demo login has no other user store)');
      respond = createLoginResponder(web, signer);
      bodyAlways = true;
    } else {
      authenticators.push(createSessionCheck({ cookie: web.sessionCookie, signer, realm: c.realm, source: locate(at('session')) }));
    }
  }
  // Cookie-authenticated routes get CSRF protection unless it is explicitly turned off;
  // routes authenticated by headers only need none (docs/web-protections.md says why).
  const csrf: RouteCsrfConfig = route.csrf ?? (route.session ? { trustedOrigins: [], token: true } : false);
  if (csrf !== false) {
    const web = needWeb('csrf');
    const checkToken = route.session?.mode !== 'login' && csrf.token;
    if (checkToken && route.session?.mode !== 'required') fail(at('csrf'), 'a CSRF token is bound to a session: set session: { mode: required } on this route, or csrf.token: false');
    protect.push(createCsrfCheck({
      signer: signerFor(web), trustedOrigins: [...web.trustedOrigins, ...csrf.trustedOrigins],
      checkToken, header: web.csrfHeader.toLowerCase(), field: web.csrfField, cookie: web.csrfCookie, source: locate(at(route.csrf ? 'csrf' : 'session')),
    }));
    if (checkToken) csrfField = web.csrfHeader.toLowerCase();
  }
  if (route.bodySchema) {
    try {
      protect.push(createBodyValidationCheck({ schema: route.bodySchema, source: locate(at('bodySchema')) }));
    } catch (err) {
      if (err instanceof BodySchemaError) fail(at('bodySchema'), err.message);
      throw err;
    }
    bodyAlways = true;
  }
  const header = csrfField;
  const bodyNeeded = bodyAlways ? always : header
    // A form post carries its token in a field: only then must the body be read.
    ? (h: IncomingHttpHeaders) => h[header] === undefined && isForm(mediaTypeOf(h['content-type']))
    : null;
  return { preAuth, authenticators, protect, respond, bodyNeeded, csrfTokenHeader: header };
}

/**
 * The cookies the gateway issues (web.sessionCookie, web.csrfCookie): its own credentials,
 * never forwarded. They are scoped Path=/ on the gateway's host, so a browser sends them on
 * every route, not only the session routes; null without a web block.
 */
export function gatewayCookieNames(web: WebConfig | undefined): ReadonlySet<string> | null {
  return web ? new Set([web.sessionCookie, web.csrfCookie]) : null;
}

const isForm = (m: string) => m === 'application/x-www-form-urlencoded' || m === 'multipart/form-data';
