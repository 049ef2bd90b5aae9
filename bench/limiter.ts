import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { RateRule } from '../src/limits/counter-store.ts';
import { LocalCounterStore } from '../src/limits/local-counter-store.ts';
import { RedisCounterStore } from '../src/limits/redis-counter-store.ts';

// The limiter benchmark (standalone; `node bench/limiter.ts [--duration S] [--redis URL]`):
//  1. decisions per second of the counter stores themselves, in one process;
//  2. gateway throughput through a rate-limited route with local vs Redis counters, with
//     1 and 2 worker processes, measured by wrk. Results go to bench/results/limiter.md.
// The limit is set far above the load, so every request is counted and admitted: what is
// measured is the cost of counting, not of refusing.

const { values } = parseArgs({ options: {
  duration: { type: 'string', default: '8' }, warmup: { type: 'string', default: '2' }, connections: { type: 'string', default: '50' },
  redis: { type: 'string', default: process.env.PINPOINT_BENCH_REDIS ?? 'redis://127.0.0.1:6379' }, 'no-write': { type: 'boolean', default: false },
} });
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const root = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;
const children: ChildProcess[] = [];
const prefix = `pinpoint-bench-${process.pid}:`;

function killAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('exit', killAll);
process.on('SIGINT', () => { killAll(); process.exit(130); });

async function storeDecisions(): Promise<{ name: string; perSecond: number }[]> {
  const rule: RateRule = { limit: 1_000_000_000, windowMs: 60_000, algorithm: 'gcra' };
  const out: { name: string; perSecond: number }[] = [];
  const local = new LocalCounterStore();
  let n = 0;
  let t0 = performance.now();
  while (performance.now() - t0 < 1000) for (let i = 0; i < 1000; i++, n++) local.rate(`k${i & 63}`, rule, Date.now(), true);
  out.push({ name: 'LocalCounterStore.rate (sync)', perSecond: Math.round(n / ((performance.now() - t0) / 1000)) });
  local.close();
  const redis = new RedisCounterStore({ url: values.redis, prefix });
  await redis.ready();
  for (const inflight of [1, 64]) {
    n = 0;
    t0 = performance.now();
    while (performance.now() - t0 < 2000) {
      await Promise.all(Array.from({ length: inflight }, (_, i) => redis.rate(`k${i & 63}`, rule, Date.now(), true)));
      n += inflight;
    }
    out.push({ name: `RedisCounterStore.rate, ${inflight} in flight${inflight > 1 ? ' (auto-pipelined)' : ''}`, perSecond: Math.round(n / ((performance.now() - t0) / 1000)) });
  }
  await redis.clear();
  redis.close();
  return out;
}

function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready:\n${out}`)), 30_000);
    const on = (c: Buffer) => { out += c.toString(); const m = pattern.exec(out); if (m) { clearTimeout(timer); resolve(m[1] ?? ''); } };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}):\n${out}`)); });
  });
}

function wrk(url: string, seconds: number): { rps: number; p50: string; p99: string; errors: number } {
  const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const p50 = /^\s+50%\s+(\S+)/m.exec(r.stdout)?.[1] ?? '?';
  const p99 = /^\s+99%\s+(\S+)/m.exec(r.stdout)?.[1] ?? '?';
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(r.stdout)?.[1] ?? 0);
  return { rps, p50, p99, errors };
}

async function gatewayRun(upstreamPort: number, counters: 'local' | 'redis', workers: number) {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-bench-limiter-'));
  const config = {
    gateway: { host: '127.0.0.1', port: 0 },
    upstreams: { backend: { targets: [{ url: `http://127.0.0.1:${upstreamPort}` }], connections: 128 } },
    routes: [{ id: 'bench', path: '/bench', methods: ['GET'], upstream: 'backend', rateLimit: { limit: 1_000_000_000, windowSeconds: 60, by: 'ip', algorithm: 'gcra' } }],
  };
  writeFileSync(join(dir, 'gw.yaml'), stringify(config));
  const args = [join(root, 'bin/pinpoint.js'), 'serve', '--config', join(dir, 'gw.yaml'), '--data-dir', dir, '--port', '0', '--workers', String(workers)];
  if (counters === 'redis') args.push('--redis', values.redis);
  const gw = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PINPOINT_REDIS_PREFIX: prefix, PINPOINT_LOG_LEVEL: 'info' } });
  children.push(gw);
  try {
    const port = await waitFor(gw, /gateway listening on http:\/\/127\.0\.0\.1:(\d+)/, 'gateway');
    if (workers > 1) await new Promise((r) => setTimeout(r, 3000)); // the other workers come up
    const url = `http://127.0.0.1:${port}/bench`;
    wrk(url, warmup);
    return wrk(url, duration);
  } finally {
    const exited = new Promise((r) => gw.once('exit', r));
    gw.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const upstream = spawn(node, [join(root, 'bench/upstream.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
children.push(upstream);
const upstreamPort = Number(await waitFor(upstream, /listening (\d+)/, 'upstream'));

process.stdout.write('counter stores, in process...\n');
const stores = await storeDecisions();
const rows: string[] = [];
for (const [counters, workers] of [['local', 1], ['redis', 1], ['local', 2], ['redis', 2]] as const) {
  process.stdout.write(`gateway, ${counters} counters, ${workers} worker(s)...\n`);
  const r = await gatewayRun(upstreamPort, counters, workers);
  rows.push(`| ${counters} | ${workers} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
}
killAll();
// The gateways' counters live under the same prefix: leave nothing behind in a shared Redis.
const cleanup = new RedisCounterStore({ url: values.redis, prefix });
await cleanup.ready();
await cleanup.clear();
cleanup.close();
const report = [
  '# Limiter benchmark',
  '',
  `Generated by \`node bench/limiter.ts\` on ${new Date().toISOString()}: ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`,
  `wrk -t1 -c${connections}, ${duration} s measured after ${warmup} s warm-up; route with a GCRA rate limit far above the load (every request counted, none refused);`,
  'gateway, wrk, upstream and Redis share the same machine and are not pinned: on a 2-core host the second worker competes with wrk and Redis for the CPU.',
  '',
  '| counter store | decisions/s |',
  '| --- | --- |',
  ...stores.map((s) => `| ${s.name} | ${s.perSecond} |`),
  '',
  '| counters | workers | requests/s | p50 | p99 | errors |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
].join('\n');
process.stdout.write(`\n${report}`);
if (!values['no-write']) writeFileSync(join(root, 'bench/results/limiter.md'), report);
process.exit(0);
