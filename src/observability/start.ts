import cluster from 'node:cluster';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Counter, Gauge } from 'prom-client';
import type { AdminPrincipal } from '../admin/auth.ts';
import { AdminError } from '../admin/http.ts';
import type { Gateway } from '../server/gateway.ts';
import type { Logger } from '../server/logger.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { inWorkerPool, joinPoolMetrics, poolMetricsText } from '../cluster/cluster-metrics.ts';
import type { Store } from '../store/store.ts';
import { AlertEngine } from './alerts.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';

// Metrics and alerting for one gateway, started with its admin listener. Metrics feed on the
// decision channel (node:diagnostics_channel), which the call log writer publishes every
// trace to; with no subscriber, publishing costs one boolean check. Alerts count the call log
// of the node's store (every node's calls with PostgreSQL), evaluated by one process at a time.

export interface Observability {
  readonly metrics: GatewayMetrics;
  readonly alerts: AlertEngine;
  /** The `node` label of every metric of this process. */
  readonly node: string;
  /** The call log this node reads for analytics and alerts (its SQLite file's queries run off the serving thread). */
  readonly callLog: Store;
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

/**
 * This process's name in metrics and logs: PINPOINT_NODE_NAME, else the host name; worker
 * processes (--workers) add their number, so every process's series stay apart when
 * several are aggregated, federated or scraped through one address.
 */
export function nodeName(): string {
  const base = process.env.PINPOINT_NODE_NAME || hostname();
  return cluster.isWorker && cluster.worker ? `${base}/w${cluster.worker.id}` : base;
}

export function startObservability(gateway: Gateway, logger: Logger): Observability {
  const node = nodeName();
  const metrics = createGatewayMetrics(gateway);
  metrics.registry.setDefaultLabels({ node });
  joinPoolMetrics(metrics.registry);
  // SQLite: a handle of our own on the node's file (the alert tables, the lease); PostgreSQL: the gateway's pool.
  const local = gateway.sharedStore ? null : new SqliteStore(gateway.databaseFile, { queriesOffThread: true });
  const store = gateway.sharedStore ?? local!;
  // With alert rules the query thread will be needed within one interval: started now, its
  // thread and file handles belong to start-up, not to the first minutes of traffic.
  if (local && (gateway.current().raw.alerts?.rules.length ?? 0) > 0) void local.log.logWindowStart().catch(() => undefined);
  const notifications = new Counter({ name: 'pinpoint_alert_notifications_total', help: 'Alert notifications sent by this process, by status (firing, resolved).', labelNames: ['status'] as const, registers: [metrics.registry] });
  const deliveries = new Counter({ name: 'pinpoint_alert_webhook_deliveries_total', help: 'Alert webhook deliveries by outcome: delivered, or failed after its retries (or at once on a 4xx).', labelNames: ['outcome'] as const, registers: [metrics.registry] });
  const retries = new Counter({ name: 'pinpoint_alert_webhook_retries_total', help: 'Alert webhook attempts that failed and were retried.', registers: [metrics.registry] });
  for (const s of ['firing', 'resolved']) notifications.labels(s).inc(0);
  for (const o of ['delivered', 'failed']) deliveries.labels(o).inc(0);
  const alerts = new AlertEngine({
    config: () => gateway.current().raw.alerts,
    logger, store, holder: `${node}/${process.pid}`,
    flush: () => gateway.writer.flush(),
    events: {
      notified: (status) => notifications.labels(status).inc(),
      delivered: (r) => deliveries.labels(r.ok ? 'delivered' : 'failed').inc(),
      retried: () => retries.inc(),
    },
  });
  new Gauge({ name: 'pinpoint_alert_leader', help: '1 when this process is the one that evaluates alert rules and notifies (one per cluster).', registers: [metrics.registry], collect() { this.set(alerts.isLeader ? 1 : 0); } });
  const o: Observability = {
    metrics, alerts, node, callLog: store,
    async serveMetrics(principal, res, requestId) {
      assertGlobalReader(principal, 'Metrics');
      // In a worker pool, one scrape answers for every worker; if the pool does not answer,
      // this worker's own series, said so in a header rather than failing the scrape.
      let body: string;
      let scope = 'process';
      if (inWorkerPool()) {
        try { body = await poolMetricsText(); scope = 'pool'; } catch { body = await metrics.text(); }
      } else body = await metrics.text();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'x-request-id': requestId, 'x-pinpoint-metrics-scope': scope });
      res.end(body);
    },
    close() {
      metrics.close();
      void alerts.close().finally(() => local?.close());
    },
  };
  byGateway.set(gateway, o);
  return o;
}
