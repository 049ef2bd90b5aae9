import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newRequestId } from '../log/request-id.ts';
import type { Gateway } from '../server/gateway.ts';
import type { Logger } from '../server/logger.ts';
import { indexTokens } from './auth.ts';
import { guardedAuthenticator } from './auth-guard.ts';
import { adminAuthThrottleDefaults, type AdminToken } from './config.ts';
import type { AuthGate, AuthThrottleSettings } from '../limits/auth-failure-throttle.ts';
import type { FailureCounter } from '../limits/failure-counter.ts';
import { authGate } from '../limits/shared-auth-throttle.ts';
import { bodyRefusal, crossSiteRefusal, ownOrigins } from './request-guard.ts';
import { cascadeApi, cascadeConsumer, crudRoutes, tenantRoutes } from './entities.ts';
import { AdminError, readBody, sendAdminProblem, sendJson } from './http.ts';
import { keyRoutes } from './keys.ts';
import { observeRoutes } from './observe.ts';
import { openApiDocument } from './openapi.ts';
import { compileRoutes, matchRoute, type AdminRoute } from './router.ts';
import { subscriptionRoutes } from './subscriptions.ts';
import { startObservability } from '../observability/start.ts';
import { observabilityRoutes } from '../observability/routes.ts';
import { usageRoutes } from './usage.ts';
import { consoleAssets } from '../console/static.ts';
import { portalRoutes } from '../console/portal-routes.ts';
import { VaultAttachment } from '../vault/vault-attachment.ts';
import { vaultRoutes } from './vaults.ts';

// The admin API: its own listener (never the data plane's port), its own credentials.

export interface AdminServerOptions {
  readonly gateway: Gateway;
  readonly databaseFile: string;
  readonly tokens: readonly AdminToken[];
  readonly port: number;
  readonly host?: string | undefined;
  readonly logger: Logger;
  /** Brute-force protection of admin tokens; default adminAuthThrottleDefaults. */
  readonly authThrottle?: AuthThrottleSettings | undefined;
  /**
   * With --redis: the failure counts every node shares, so guesses spread over nodes or workers
   * meet one budget. Without it each process counts alone.
   */
  readonly sharedAuthFailures?: FailureCounter | undefined;
  /** Public origins of a proxy in front of the console, besides the listener's own. */
  readonly trustedOrigins?: readonly string[] | undefined;
  /** The process's vault, attachable after start; without it GET /v1/vaults lists none. */
  readonly vaults?: VaultAttachment | undefined;
}

export interface AdminServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  readonly authThrottle: AuthGate;
  close(): Promise<void>;
}

export function adminRouteTable(): AdminRoute[] {
  return [
    ...tenantRoutes(),
    ...crudRoutes({ kind: 'consumer', plural: 'consumers', tag: 'consumers', cascade: cascadeConsumer }),
    ...keyRoutes(),
    ...crudRoutes({ kind: 'api', plural: 'apis', tag: 'apis', cascade: cascadeApi }),
    ...crudRoutes({ kind: 'policy', plural: 'policies', tag: 'policies' }),
    ...subscriptionRoutes(),
    ...crudRoutes({ kind: 'owner', plural: 'resource-owners', tag: 'resource owners' }),
    ...observeRoutes(),
    ...observabilityRoutes(),
    ...usageRoutes(),
    ...vaultRoutes(),
    ...portalRoutes(),
  ];
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const table = adminRouteTable();
  const routes = compileRoutes(table);
  const openapi = JSON.stringify(openApiDocument(table));
  const throttle = authGate('admin', options.authThrottle ?? adminAuthThrottleDefaults, options.sharedAuthFailures);
  const authenticate = guardedAuthenticator(indexTokens(options.tokens), throttle, options.logger);
  const host = options.host ?? '127.0.0.1';
  const wildcardHost = host === '0.0.0.0' || host === '::';
  // Known once listening (port 0 picks one); no request is served before.
  let origins: ReadonlySet<string> = new Set();
  const console_ = consoleAssets();
  const deps = { gateway: options.gateway, databaseFile: options.databaseFile, vaults: options.vaults ?? new VaultAttachment() };
  // Metrics and alerting live with the admin listener: /metrics is served here (docs/observability.md).
  const observability = startObservability(options.gateway, options.logger);
  const server = createServer((req, res) => {
    const requestId = newRequestId();
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    const run = async () => {
      if (method === 'GET' && url.pathname === '/openapi.json') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': requestId });
        res.end(openapi);
        return;
      }
      if (console_.serve(req, res, url.pathname, requestId)) return;
      if (method === 'GET' && url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-request-id': requestId });
        res.end('Pinpoint admin API. The OpenAPI document is at /openapi.json; calls need Authorization: Bearer <admin token>.\n');
        return;
      }
      if (method === 'GET' && url.pathname === '/metrics') { await observability.serveMetrics(await authenticate(req, requestId), res, requestId); return; }
      const match = matchRoute(routes, method, url.pathname);
      if (match.kind === 'none') throw new AdminError('admin_not_found', `No admin endpoint ${method} ${url.pathname}; see /openapi.json.`);
      if (match.kind === 'method') {
        sendAdminProblem(res, new AdminError('method_not_allowed', `${method} is not served on ${url.pathname}; allowed: ${match.allow.join(', ')}.`), requestId, { allow: match.allow.join(', ') });
        return;
      }
      const refusal = crossSiteRefusal(method, req.headers, origins, wildcardHost) ?? bodyRefusal(method, req.headers);
      if (refusal) throw refusal;
      const principal = await authenticate(req, requestId);
      const body = method === 'GET' || method === 'DELETE' ? undefined : await readBody(req);
      const answer = await match.route.handle({ principal, params: match.params, query: url.searchParams, body, requestId, deps });
      options.logger.info({ event: 'admin_call', requestId, admin: principal.id, method, path: url.pathname, status: answer.status }, `admin ${principal.id} ${method} ${url.pathname} -> ${answer.status}`);
      sendJson(res, answer.status, answer.body, requestId);
    };
    run().catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return; }
      if (err instanceof AdminError) {
        // Each cross-site attempt is worth a line; throttled retries are counted by the metric and
        // logged at debug, since the lock itself was logged once (admin_auth_locked) and a guesser would flood the log.
        if (err.code === 'admin_cross_site_request' || err.code === 'admin_auth_throttled') {
          options.logger[err.code === 'admin_auth_throttled' ? 'debug' : 'warn']({ event: err.code, requestId, method, path: url.pathname, client: req.socket.remoteAddress, origin: req.headers.origin, secFetchSite: req.headers['sec-fetch-site'] }, `admin ${method} ${url.pathname} refused: ${err.code}`);
        }
        sendAdminProblem(res, err, requestId, {
          ...err.headers,
          ...(err.code === 'admin_unauthenticated' ? { 'www-authenticate': 'Bearer realm="pinpoint-admin"' } : {}),
          // The unread rest of an oversized body is not drained: the connection ends with the answer.
          ...(err.code === 'admin_payload_too_large' ? { connection: 'close' } : {}),
        });
        return;
      }
      options.logger.error({ event: 'admin_internal_error', requestId, err: (err as Error)?.stack ?? String(err) }, 'admin API error');
      sendAdminProblem(res, new AdminError('internal_error', 'The admin API failed; the request id is in its log.'), requestId);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  origins = ownOrigins(host, port, options.trustedOrigins);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  options.logger.info({ event: 'admin_listening', port }, `admin API listening on ${url}`);
  return {
    server, url, port, authThrottle: throttle,
    close: () => new Promise<void>((resolve) => { observability.close(); server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
