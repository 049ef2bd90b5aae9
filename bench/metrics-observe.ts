import { createGatewayMetrics } from '../src/observability/metrics.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertEngine } from '../src/observability/alerts.ts';
import { silentLogger } from '../src/server/logger.ts';
import type { TraceRecord } from '../src/log/trace.ts';
import { parseCallLines, toCallLine } from '../src/store/sqlite/call-log-store.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';

// The per-request cost of the metrics subscriber (what the decision channel adds to each
// request when /metrics is on), and the cost of one alert evaluation over a call log holding
// CALLS requests in the rules' window (alerts add nothing per request: they count the log).
// Run: node bench/metrics-observe.ts [CALLS]

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
const N = 1_000_000;
for (let i = 0; i < 100_000; i++) metrics.observe(traces[i % 1000]!);
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) metrics.observe(traces[i % 1000]!);
console.log(`metrics: ${(Number(process.hrtime.bigint() - t0) / N / 1000).toFixed(3)} µs per request`);

const calls = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'pinpoint-bench-alerts-'));
const store = new SqliteStore(join(dir, 'p.db'));
const now = Date.now();
for (let i = 0; i < calls; i += 5000) {
  await store.insertBatch(parseCallLines(Array.from({ length: Math.min(5000, calls - i) }, (_, j) => toCallLine({ ...traces[(i + j) % 1000]!, requestId: `c${i + j}`, ts: now - 290_000 + Math.floor(((i + j) / calls) * 290_000) })).join('')));
}
const alerts = new AlertEngine({ logger: silentLogger, store, holder: 'bench', config: () => ({ evaluateIntervalMs: 600000, rules: [
  { id: 'r1', scope: {}, match: { status: [403] }, groupBy: 'route', windowSeconds: 300, rate: 0.05, minRequests: 10 },
  { id: 'r2', scope: {}, match: { codes: ['credential_expired'] }, groupBy: 'consumer', windowSeconds: 300, count: 5, minRequests: 10 },
] }) });
await alerts.evaluate();
const t1 = process.hrtime.bigint();
const rounds = 5;
for (let i = 0; i < rounds; i++) await alerts.evaluate();
console.log(`alert evaluation (2 rules, ${calls} calls in the window, SQLite): ${(Number(process.hrtime.bigint() - t1) / rounds / 1e6).toFixed(1)} ms`);
await alerts.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
