import { isDeepStrictEqual } from 'node:util';
import { createAccountStatusCheck } from '../checks/account-status.ts';
import { createApiKeyCheck } from '../checks/api-key.ts';
import { createIpFilter } from '../checks/ip-filter.ts';
import { compileIssuer, createJwtCheck, IssuerConfigError, type CompiledIssuer, type TokenCache } from '../checks/jwt.ts';
import { createQuotaCheck } from '../checks/quota.ts';
import { createRateLimitCheck } from '../checks/rate-limit.ts';
import { createRequestShapeCheck } from '../checks/request-shape.ts';
import { createRoleCheck, createScopeCheck } from '../checks/scopes.ts';
import { buildDirectory, DirectoryError, type Directory } from '../credentials/directory.ts';
import type { CounterStore } from '../limits/counter-store.ts';
import { CidrError, CidrSet } from '../net/cidr-set.ts';
import type { Authenticator, CompiledChain } from '../pipeline/run-chain.ts';
import type { Check, ConfigLocation } from '../pipeline/types.ts';
import { Upstream } from '../proxy/upstream.ts';
import { compileWebRoute, gatewayCookieNames, type WebRouteChecks } from '../web/compile-web.ts';
import { RouteTable, RouteTableError, type Routable } from '../router/route-table.ts';
import { ConfigError, type LoadedConfig, type PathSegment } from './load.ts';
import { createBearerKeyCheck } from '../ai/bearer-key.ts';
import { AI_UPSTREAM, AiConfigError, compileAi, type CompiledAi } from '../ai/compile-ai.ts';
import type { AiRoute } from '../ai/outcome.ts';
import type { AiRuntime } from '../ai/runtime.ts';
import type { GatewayConfig, PinpointConfig, RouteConfig } from './schema.ts';
import type { CompiledTenancy } from '../policy/compile.ts';

export interface CompiledRoute extends Routable {
  readonly upstream: Upstream;
  readonly upstreamPath: string | null;
  readonly chain: CompiledChain;
  readonly maxBodyBytes: number;
  /** Request headers never forwarded on this route (credentials, spoofable identity headers). */
  readonly dropHeaders: ReadonlySet<string>;
  /** Cookies never forwarded on this route (the gateway's session and CSRF cookies); null: none. */
  readonly dropCookies: ReadonlySet<string> | null;
  readonly source: ConfigLocation;
  /** Set on routes the gateway answers itself (the web login). */
  readonly respond?: WebRouteChecks['respond'];
  /** Whether a request's body must be buffered for the checks (WAF, schema, CSRF form field). */
  readonly bodyNeeded?: WebRouteChecks['bodyNeeded'];
  /** Set on routes with `upstream: ai`: served by the AI gateway once the chain passes. */
  readonly ai?: AiRoute;
}

export interface CompiledConfig {
  readonly version: number;
  readonly hash: string;
  readonly file: string;
  readonly gateway: GatewayConfig;
  readonly raw: PinpointConfig;
  readonly table: RouteTable<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly directory: Directory;
  readonly trustedProxies: CidrSet | null;
  /** Header names redacted in traces besides the built-in ones (the API key header). */
  readonly secretHeaders: ReadonlySet<string>;
  readonly locate: LoadedConfig['locate'];
  readonly ai: CompiledAi | null;
  /** The tenancy state the chains were compiled with (null: no state store). */
  readonly tenancy?: CompiledTenancy | null;
}

export interface CompileDeps {
  readonly counters: CounterStore;
  readonly tokenCache: TokenCache;
  /** Upstreams of the running config: reused when their config is unchanged. */
  readonly previousUpstreams?: ReadonlyMap<string, Upstream> | undefined;
  /** The AI gateway's usage store, quota accounts and secret sources (kept across reloads). */
  readonly ai?: AiRuntime | undefined;
  /** Authz checks from the tenancy state (subscription, access policy, ownership) for a route. */
  readonly routeChecks?: ((route: RouteConfig, source: ConfigLocation) => readonly Check[]) | undefined;
  /** Checks about the addressed resource (ownership), run after scopes and roles. */
  readonly resourceChecks?: ((route: RouteConfig, source: ConfigLocation) => readonly Check[]) | undefined;
}

/** Headers a client must not be able to set: the gateway writes them after authentication. */
export const identityHeaders = ['x-consumer-id', 'x-credential-id', 'x-tenant-id', 'x-authenticated-scopes', 'x-authenticated-subject'] as const;

/** Turns a validated config into per-route chains. Throws ConfigError with locations; never per request. */
export function compileConfig(loaded: LoadedConfig, version: number, deps: CompileDeps): CompiledConfig {
  const { config, locate } = loaded;
  const fail = (path: readonly PathSegment[], message: string): never => {
    const loc = locate(path);
    throw new ConfigError([{ file: loc.file, line: loc.line, column: 1, path: loc.path, message }]);
  };
  const cidrs = (list: readonly string[] | undefined, path: readonly PathSegment[]): CidrSet | null => {
    if (!list) return null;
    try { return new CidrSet(list); } catch (err) { return err instanceof CidrError ? fail(path, err.message) : fail(path, String(err)); }
  };

  let directory: Directory;
  try { directory = buildDirectory(config, locate); } catch (err) {
    if (err instanceof DirectoryError) fail(err.path, err.message);
    throw err;
  }

  const issuers = new Map<string, CompiledIssuer>();
  config.issuers.forEach((iss, i) => {
    if (issuers.has(iss.issuer)) fail(['issuers', i, 'issuer'], `issuer ${iss.issuer} is declared twice`);
    try { issuers.set(iss.issuer, compileIssuer(iss, locate(['issuers', i]))); } catch (err) {
      if (err instanceof IssuerConfigError) fail(['issuers', i], err.message);
      throw err;
    }
  });

  const upstreams = new Map<string, Upstream>();
  for (const [name, up] of Object.entries(config.upstreams)) {
    const prev = deps.previousUpstreams?.get(name);
    upstreams.set(name, prev && isDeepStrictEqual(prev.config, up) ? prev : new Upstream(name, up));
  }

  const gw = config.gateway;
  const trustedProxies = cidrs(gw.trustedProxies, ['gateway', 'trustedProxies']);
  const gwAllow = cidrs(gw.ipAllow, ['gateway', 'ipAllow']);
  const gwDeny = cidrs(gw.ipDeny, ['gateway', 'ipDeny']);
  const apiKeyHeader = gw.apiKeyHeader.toLowerCase();
  const webCookies = gatewayCookieNames(config.web);

  let ai: CompiledAi | null = null;
  if (config.ai) {
    if (config.upstreams[AI_UPSTREAM]) fail(['upstreams', AI_UPSTREAM], `the upstream name "${AI_UPSTREAM}" is reserved for the AI gateway when the ai section is present`);
    try { ai = compileAi(config.ai, config.routes, directory, locate, deps.ai?.schemes() ?? new Set(['env', 'vault'])); } catch (err) {
      if (err instanceof AiConfigError) fail(err.path, err.message);
      throw err;
    }
  }

  const routes: CompiledRoute[] = config.routes.map((route, ri) => {
    const at = (...p: PathSegment[]) => ['routes', ri, ...p];
    const aiRoute: AiRoute | null = ai && route.upstream === AI_UPSTREAM ? { ai, runtime: deps.ai ?? null, prompt: ai.promptsByRoute.get(route.id) ?? null, source: locate(at()), maxBodyBytes: Math.min(route.maxBodyBytes ?? gw.maxBodyBytes, ai.maxBodyBytes) } : null;
    const upstream = aiRoute ? aiRoute.ai.placeholderUpstream : upstreams.get(route.upstream) ?? fail(at('upstream'), `upstream "${route.upstream}" is not declared under upstreams (declared: ${Object.keys(config.upstreams).join(', ') || 'none'})`);
    checkMethodKeys(route, fail, at);
    const web = compileWebRoute(route, { web: config.web, realm: gw.realm, apiKeyHeader, locate, at, fail });
    const checks: Check[] = [];
    const maxBodyBytes = route.maxBodyBytes ?? gw.maxBodyBytes;
    checks.push(createRequestShapeCheck({
      maxBodyBytes, maxBodySource: locate(route.maxBodyBytes === undefined ? ['gateway', 'maxBodyBytes'] : at('maxBodyBytes')),
      contentTypes: route.contentTypes ? new Set(route.contentTypes.map((t) => t.toLowerCase())) : null,
      contentTypesSource: locate(at('contentTypes')), source: locate(at()),
    }));
    if (gwAllow || gwDeny) {
      checks.push(createIpFilter({ id: 'ip-filter:gateway', allow: gwAllow && { set: gwAllow, source: locate(['gateway', 'ipAllow']) }, deny: gwDeny && { set: gwDeny, source: locate(['gateway', 'ipDeny']) }, source: locate(['gateway']) }));
    }
    const rAllow = cidrs(route.ipAllow, at('ipAllow'));
    const rDeny = cidrs(route.ipDeny, at('ipDeny'));
    if (rAllow || rDeny) {
      checks.push(createIpFilter({ id: 'ip-filter', allow: rAllow && { set: rAllow, source: locate(at('ipAllow')) }, deny: rDeny && { set: rDeny, source: locate(at('ipDeny')) }, source: locate(at()) }));
    }
    checks.push(...web.preAuth);
    const authenticators: Authenticator[] = [];
    for (const kind of route.auth) {
      if (kind === 'apiKey') authenticators.push(createApiKeyCheck({ header: apiKeyHeader, realm: gw.realm, directory, source: locate(at('auth')) }));
      else {
        const trusted = route.issuers ?? [...issuers.keys()];
        const routeIssuers = new Map<string, CompiledIssuer>();
        for (const name of trusted) routeIssuers.set(name, issuers.get(name) ?? fail(at('issuers'), `issuer "${name}" is not declared under issuers`));
        if (routeIssuers.size === 0) fail(at('auth'), 'jwt auth needs at least one issuer under issuers');
        authenticators.push(createJwtCheck({ issuers: routeIssuers, directory, realm: gw.realm, source: locate(at('auth')), cache: deps.tokenCache }));
      }
    }
    authenticators.push(...web.authenticators);
    if (aiRoute && route.auth.includes('apiKey')) authenticators.unshift(createBearerKeyCheck({ realm: gw.realm, directory, source: locate(at('auth')) }));
    checks.push(...authenticators);
    const needsIdentity = (route.scopes || route.roles || route.auth.length > 0);
    if (route.auth.length === 0 && (route.scopes || route.roles)) fail(at('auth'), 'scopes or roles need an authenticator: set auth to [apiKey] and/or [jwt]');
    if (needsIdentity && route.auth.length > 0) checks.push(createAccountStatusCheck(directory, locate(at('auth'))));
    if (deps.routeChecks && route.auth.length > 0) checks.push(...deps.routeChecks(route, locate(at())));
    if (route.scopes) checks.push(createScopeCheck({ ...requirements(route.scopes, at('scopes'), locate), source: locate(at('scopes')), realm: gw.realm }));
    if (route.roles) checks.push(createRoleCheck({ ...requirements(route.roles, at('roles'), locate), source: locate(at('roles')), realm: gw.realm }));
    if (deps.resourceChecks && route.auth.length > 0) checks.push(...deps.resourceChecks(route, locate(at())));
    checks.push(...web.protect);
    if (route.rateLimit) {
      const rl = route.rateLimit;
      if (rl.algorithm === 'sliding-log' && rl.limit > 100_000) fail(at('rateLimit', 'limit'), 'sliding-log keeps one timestamp per request: use gcra above 100000 per window');
      checks.push(createRateLimitCheck({ policy: rl.id ?? `${route.id}`, rule: { limit: rl.limit, windowMs: rl.windowSeconds * 1000, algorithm: rl.algorithm }, by: rl.by, failMode: rl.failMode, routeId: route.id, store: deps.counters, source: locate(at('rateLimit')) }));
    }
    if (route.quota) {
      const q = route.quota;
      checks.push(createQuotaCheck({ policy: q.id ?? `${route.id}`, limit: q.limit, period: q.period, by: q.by, failMode: q.failMode, routeId: route.id, store: deps.counters, source: locate(at('quota')) }));
    }
    const dropHeaders = new Set<string>(identityHeaders);
    if (!route.forwardCredential) {
      if (route.auth.includes('apiKey')) dropHeaders.add(apiKeyHeader);
      if (route.auth.includes('jwt')) dropHeaders.add('authorization');
      // The CSRF token is bound to the session cookie: together they are a credential.
      if (web.csrfTokenHeader) dropHeaders.add(web.csrfTokenHeader);
    }
    const dropCookies = route.forwardCredential ? null : webCookies;
    return {
      id: route.id, path: route.path, methods: route.methods, host: route.host, headers: route.headers,
      upstream, upstreamPath: route.upstreamPath ?? null, maxBodyBytes, dropHeaders, dropCookies, source: locate(at()),
      respond: web.respond, bodyNeeded: web.bodyNeeded,
      ...(aiRoute ? { ai: aiRoute } : {}),
      // An AI route's bearer key and JWT both answer `Bearer realm=...`: one challenge each.
      chain: { checks, challenges: [...new Set(authenticators.map((a) => a.challenge))], hasAuthn: authenticators.length > 0 },
    };
  });

  const ids = new Set<string>();
  routes.forEach((r, i) => { if (ids.has(r.id)) fail(['routes', i, 'id'], `route id ${r.id} is used twice`); ids.add(r.id); });
  let table: RouteTable<CompiledRoute>;
  try { table = new RouteTable(gw.caseInsensitivePaths ? routes.map(lowerCaseLiterals) : routes); } catch (err) {
    if (err instanceof RouteTableError) fail(['routes'], err.message);
    throw err;
  }
  return { version, hash: loaded.hash, file: loaded.file, gateway: gw, raw: config, table, routes, upstreams, directory, trustedProxies, secretHeaders: new Set([apiKeyHeader]), locate, ai };
}

function checkMethodKeys(route: RouteConfig, fail: (p: readonly PathSegment[], m: string) => never, at: (...p: PathSegment[]) => PathSegment[]): void {
  for (const field of ['scopes', 'roles'] as const) {
    for (const method of Object.keys(route[field] ?? {})) {
      if (!route.methods.includes(method)) fail(at(field, method), `${method} is not one of the route's methods (${route.methods.join(', ')})`);
    }
  }
}

function requirements(spec: Record<string, string[]>, path: readonly PathSegment[], locate: LoadedConfig['locate']) {
  const required = new Map<string, readonly string[]>();
  const sources = new Map<string, ConfigLocation>();
  for (const [method, values] of Object.entries(spec)) {
    required.set(method, values);
    sources.set(method, locate([...path, method]));
  }
  return { required, sources };
}

/** With caseInsensitivePaths the request path is lower-cased, so the patterns' literal segments are too. */
function lowerCaseLiterals(r: CompiledRoute): CompiledRoute {
  return { ...r, path: r.path.split('/').map((seg) => (seg.startsWith('{') ? seg : seg.toLowerCase())).join('/') };
}
