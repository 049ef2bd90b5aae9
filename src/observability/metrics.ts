import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { AuthThrottleEvent } from '../limits/auth-failure-throttle.ts';
import type { Gateway } from '../server/gateway.ts';

// Prometheus metrics fed from the decision channel: the request thread only publishes the
// trace it builds anyway; this subscriber turns it into counter and histogram updates.
// Label values come from the config (route and check ids) or the catalogue (reason codes),
// so cardinality is bounded by the config; a hard cap folds anything beyond into "other".

const MAX_SERIES_PER_LABEL = 500;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CHECK_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1];

type Inc = { inc(): void };
type Obs = { observe(v: number): void };

/** A bounded map from a label value to a cached child: no label object is built per request. */
class ChildCache<T> {
  private readonly map = new Map<string, T>();
  private readonly make: (value: string) => T;
  constructor(make: (value: string) => T) { this.make = make; }
  get(value: string): T {
    let c = this.map.get(value);
    if (c === undefined) {
      const label = this.map.size >= MAX_SERIES_PER_LABEL ? 'other' : value;
      c = this.map.get(label) ?? this.make(label);
      this.map.set(label, c);
      if (label === value) this.map.set(value, c);
    }
    return c;
  }
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Exposed for the cost measurement in bench/: what the channel subscriber does per request. */
  observe(trace: TraceRecord): void;
  text(): Promise<string>;
  close(): void;
}

export function createGatewayMetrics(gateway: Pick<Gateway, 'writer' | 'current' | 'tenancy'> | null, options: { subscribe?: boolean; defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pinpoint_' });

  const requests = new FastCounter(registry, 'pinpoint_requests_total', 'Requests by route, status, reason code and origin (gateway: refused or answered by Pinpoint; upstream: the backend\'s answer).');
  const duration = new FastHistogram(registry, 'pinpoint_request_duration_seconds', 'Time from request start to the decision/answer headers, by route.', LATENCY_BUCKETS);
  const checkDuration = new FastHistogram(registry, 'pinpoint_check_duration_seconds', 'Time spent in each check.', CHECK_BUCKETS);
  const limitDecisions = new FastCounter(registry, 'pinpoint_limit_decisions_total', 'Rate-limit and quota checks by outcome (pass: admitted, deny: refused).');
  const refusals = new FastCounter(registry, 'pinpoint_refusals_total', 'Requests refused by Pinpoint, by reason code and the check that refused.');

  // Pulled at scrape time: no work on the request path.
  const logStat = (name: string, help: string, key: 'written' | 'dropped' | 'failed') => new Counter({
    name, help, registers: [registry],
    collect() { this.reset(); if (gateway) this.inc(gateway.writer.stats[key]); },
  });
  logStat('pinpoint_call_log_written_total', 'Trace records written to the call log.', 'written');
  logStat('pinpoint_call_log_dropped_total', 'Trace records dropped because the log writer fell behind (log.maxPending).', 'dropped');
  logStat('pinpoint_call_log_failed_total', 'Trace records lost to a failed store write.', 'failed');
  new Gauge({ name: 'pinpoint_call_log_pending', help: 'Trace records waiting for the log writer.', registers: [registry], collect() { this.set(gateway ? gateway.writer.pending : 0); } });
  new Gauge({
    name: 'pinpoint_upstream_target_healthy', help: 'Upstream targets: 1 when usable (healthy by active probes and not ejected by passive checks), else 0.', labelNames: ['upstream', 'target'] as const, registers: [registry],
    collect() {
      this.reset();
      if (!gateway) return;
      const now = Date.now();
      for (const up of gateway.current().upstreams.values()) for (const t of up.health(now)) this.labels(up.name, t.origin).set(t.healthy && !t.ejected ? 1 : 0);
    },
  });
  new Gauge({ name: 'pinpoint_config_version', help: 'The running config version.', registers: [registry], collect() { if (gateway) this.set(gateway.current().version); } });
  new Gauge({ name: 'pinpoint_state_version', help: 'The running tenancy state version (keys, subscriptions, policies).', registers: [registry], collect() { if (gateway) this.set(gateway.tenancy.state.version); } });

  // Nested maps keyed by the label values as they arrive: no label object or key string per request.
  const reqChildren = new ChildCache((_route) => new Map<number, Map<string, Map<string, Inc>>>());
  const durChildren = new ChildCache<Obs>((route) => duration.cell({ route }));
  const checkChildren = new ChildCache<Obs>((check) => checkDuration.cell({ check }));
  const limitChildren = new ChildCache((check) => { const kind = check.startsWith('quota') ? 'quota' : 'rate'; return { pass: limitDecisions.cell({ check, kind, outcome: 'pass' }), deny: limitDecisions.cell({ check, kind, outcome: 'deny' }) }; });
  const refusalChildren = new ChildCache((_code) => new Map<string, Inc>());

  const requestChild = (route: string, status: number, code: string, origin: string): Inc => {
    const byStatus = reqChildren.get(route);
    let byCode = byStatus.get(status);
    if (!byCode) { byCode = new Map(); if (byStatus.size < MAX_SERIES_PER_LABEL) byStatus.set(status, byCode); }
    let byOrigin = byCode.get(code);
    if (!byOrigin) { byOrigin = new Map(); byCode.set(code, byOrigin); }
    let c = byOrigin.get(origin);
    if (!c) { c = requests.cell({ route, status: String(status), code, origin }); byOrigin.set(origin, c); }
    return c;
  };
  const refusalChild = (code: string, check: string): Inc => {
    const byCheck = refusalChildren.get(code);
    let c = byCheck.get(check);
    if (!c) { c = refusals.cell({ code, check }); if (byCheck.size < MAX_SERIES_PER_LABEL) byCheck.set(check, c); }
    return c;
  };

  const observe = (t: TraceRecord): void => {
    const route = t.routeId ?? '(none)';
    const code = t.code ?? '';
    requestChild(route, t.status, code, t.answeredBy).inc();
    durChildren.get(route).observe(t.durationMs / 1000);
    if (t.code && t.answeredBy === 'gateway') refusalChild(t.code, t.deniedBy ?? '').inc();
    for (const c of t.checks) {
      if (c.micros > 0) checkChildren.get(c.id).observe(c.micros / 1e6);
      if (c.id.startsWith('rate-limit:') || c.id.startsWith('quota:')) { const l = limitChildren.get(c.id); (c.outcome === 'deny' ? l.deny : l.pass).inc(); }
    }
  };

  // Brute-force throttles (admin tokens, token-service client secrets) publish on their own channel;
  // labels are fixed enums (surface, scope), never the client address.
  const authFailures = new Counter({ name: 'pinpoint_auth_failures_total', help: 'Failed admin-token or client-secret authentications, by surface (admin, token-service).', labelNames: ['surface'] as const, registers: [registry] });
  const authLocks = new Counter({ name: 'pinpoint_auth_lockouts_total', help: 'Brute-force locks begun, by surface and scope (client: one address; global: the backstop).', labelNames: ['surface', 'scope'] as const, registers: [registry] });
  const authThrottled = new Counter({ name: 'pinpoint_auth_throttled_total', help: 'Authentication attempts refused by a brute-force lock (429), by surface and scope.', labelNames: ['surface', 'scope'] as const, registers: [registry] });
  // Not zero means brute-force limits were per node for a while (see SharedAuthThrottle): worth an alert with --redis.
  const authLocal = new Counter({ name: 'pinpoint_auth_throttle_local_decisions_total', help: 'Brute-force throttle decisions taken by this process alone because the shared count (Redis) was unreachable, by surface.', labelNames: ['surface'] as const, registers: [registry] });
  const onAuthThrottle = (message: unknown) => {
    const e = message as AuthThrottleEvent;
    if (e.kind === 'failure') authFailures.labels(e.surface).inc();
    else if (e.kind === 'local') authLocal.labels(e.surface).inc();
    else (e.kind === 'locked' ? authLocks : authThrottled).labels(e.surface, e.scope ?? 'client').inc();
  };

  const listener = (message: unknown) => observe(message as TraceRecord);
  if (options.subscribe !== false) { subscribe('pinpoint:decision', listener); subscribe('pinpoint:auth-throttle', onAuthThrottle); }
  return {
    registry, observe,
    text: () => registry.metrics(),
    close() { if (options.subscribe !== false) { unsubscribe('pinpoint:decision', listener); unsubscribe('pinpoint:auth-throttle', onAuthThrottle); } },
  };
}
