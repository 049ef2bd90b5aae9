import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import type { AdminPrincipal } from '../admin/auth.ts';
import { AdminError } from '../admin/http.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { Gateway } from '../server/gateway.ts';
import type { Logger } from '../server/logger.ts';
import { AlertEngine } from './alerts.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';

// Metrics and alerting for one gateway, started with its admin listener. Both feed on the
// decision channel (node:diagnostics_channel), which the call log writer publishes every
// trace to; with no subscriber, publishing costs one boolean check.

export interface Observability {
  readonly metrics: GatewayMetrics;
  readonly alerts: AlertEngine;
  serveMetrics(principal: AdminPrincipal, res: ServerResponse, requestId: string): Promise<void>;
  close(): void;
}

const byGateway = new WeakMap<object, Observability>();

/** The metrics and alerts of a gateway whose admin listener is running (admin routes use it). */
export function observabilityOf(gateway: object): Observability | undefined {
  return byGateway.get(gateway);
}

/** Metrics and alerts span every tenant: a tenant admin would learn other tenants' routes and traffic. */
export function assertGlobalReader(p: AdminPrincipal, what: string): void {
  if (p.role === 'tenant-admin') throw new AdminError('admin_forbidden', `${what} cover every tenant: an operator or auditor token is needed.`);
}

export function startObservability(gateway: Gateway, logger: Logger): Observability {
  const metrics = createGatewayMetrics(gateway);
  const alerts = new AlertEngine({
    config: () => gateway.current().raw.alerts,
    logger,
  });
  const onDecision = (m: unknown) => alerts.record(m as TraceRecord);
  subscribe('pinpoint:decision', onDecision);
  const o: Observability = {
    metrics, alerts,
    async serveMetrics(principal, res, requestId) {
      assertGlobalReader(principal, 'Metrics');
      const body = await metrics.text();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'x-request-id': requestId });
      res.end(body);
    },
    close() { unsubscribe('pinpoint:decision', onDecision); metrics.close(); alerts.close(); },
  };
  byGateway.set(gateway, o);
  return o;
}
