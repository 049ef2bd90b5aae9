import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newRequestId } from '../log/request-id.ts';
import type { Gateway } from '../server/gateway.ts';
import type { Logger } from '../server/logger.ts';
import { authenticateAdmin, indexTokens } from './auth.ts';
import type { AdminToken } from './config.ts';
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
  /** The process's vault, attachable after start; without it GET /v1/vaults lists none. */
  readonly vaults?: VaultAttachment | undefined;
}

export interface AdminServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
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
  const tokens = indexTokens(options.tokens);
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
      if (method === 'GET' && url.pathname === '/metrics') { await observability.serveMetrics(authenticateAdmin(req, tokens), res, requestId); return; }
      const match = matchRoute(routes, method, url.pathname);
      if (match.kind === 'none') throw new AdminError('admin_not_found', `No admin endpoint ${method} ${url.pathname}; see /openapi.json.`);
      if (match.kind === 'method') {
        sendAdminProblem(res, new AdminError('admin_invalid_request', `${method} is not served on ${url.pathname}; allowed: ${match.allow.join(', ')}.`), requestId, { allow: match.allow.join(', ') });
        return;
      }
      const principal = authenticateAdmin(req, tokens);
      const body = method === 'GET' || method === 'DELETE' ? undefined : await readBody(req);
      const answer = await match.route.handle({ principal, params: match.params, query: url.searchParams, body, requestId, deps });
      options.logger.info({ event: 'admin_call', requestId, admin: principal.id, method, path: url.pathname, status: answer.status }, `admin ${principal.id} ${method} ${url.pathname} -> ${answer.status}`);
      sendJson(res, answer.status, answer.body, requestId);
    };
    run().catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return; }
      if (err instanceof AdminError) { sendAdminProblem(res, err, requestId, err.code === 'admin_unauthenticated' ? { 'www-authenticate': 'Bearer realm="pinpoint-admin"' } : {}); return; }
      options.logger.error({ event: 'admin_internal_error', requestId, err: (err as Error)?.stack ?? String(err) }, 'admin API error');
      sendAdminProblem(res, new AdminError('internal_error', 'The admin API failed; the request id is in its log.'), requestId);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
  options.logger.info({ event: 'admin_listening', port }, `admin API listening on ${url}`);
  return {
    server, url, port,
    close: () => new Promise<void>((resolve) => { observability.close(); server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
