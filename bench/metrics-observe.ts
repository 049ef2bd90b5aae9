import { createGatewayMetrics } from '../src/observability/metrics.ts';
import { AlertEngine } from '../src/observability/alerts.ts';
import { silentLogger } from '../src/server/logger.ts';
import type { TraceRecord } from '../src/log/trace.ts';

// The per-request cost of the metrics and alert subscribers: what the decision channel
// adds to each request when /metrics and alert rules are on. Run: node bench/metrics-observe.ts

const trace = (i: number): TraceRecord => ({
  requestId: `r${i}`, ts: Date.now(), configVersion: 1, stateVersion: 1, routeId: i % 3 === 0 ? 'orders' : 'items', method: 'GET', path: '/x', query: '', host: null,
  clientIp: '127.0.0.1', peerIp: '127.0.0.1', clientIpVia: 'peer', status: i % 5 === 0 ? 403 : 200, code: i % 5 === 0 ? 'insufficient_scope' : null,
  answeredBy: i % 5 === 0 ? 'gateway' : 'upstream', deniedBy: i % 5 === 0 ? 'scopes' : null,
  identity: { kind: 'apiKey', credentialId: 'k1', consumerId: 'c1', tenantId: 't1', subject: 'c1', scopes: [], roles: [] },
  checks: [{ id: 'api-key', phase: 'authn', outcome: 'continue', micros: 3 }, { id: 'scopes', phase: 'authz', outcome: i % 5 === 0 ? 'deny' : 'continue', micros: 1 }, { id: 'rate-limit:default', phase: 'limit', outcome: 'continue', micros: 2 }],
  request: { headers: {}, contentLength: null, contentType: null, userAgent: null }, upstream: null, durationMs: 0.4,
});
const traces = Array.from({ length: 1000 }, (_, i) => trace(i));
const metrics = createGatewayMetrics(null, { subscribe: false, defaultMetrics: false });
const alerts = new AlertEngine({ logger: silentLogger, config: () => ({ evaluateIntervalMs: 600000, rules: [
  { id: 'r1', scope: {}, match: { status: [403] }, groupBy: 'route', windowSeconds: 300, rate: 0.05, minRequests: 10 },
  { id: 'r2', scope: {}, match: { codes: ['credential_expired'] }, groupBy: 'consumer', windowSeconds: 300, count: 5, minRequests: 10 },
] }) });
const N = 1_000_000;
for (const [name, fn] of [['metrics', (t: TraceRecord) => metrics.observe(t)], ['alerts (2 rules)', (t: TraceRecord) => alerts.record(t)]] as const) {
  for (let i = 0; i < 100_000; i++) fn(traces[i % 1000]!);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(traces[i % 1000]!);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  console.log(`${name}: ${(ns / 1000).toFixed(3)} µs per request`);
}
alerts.close();
