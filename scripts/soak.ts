import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

// The soak: the real `pinpoint demo` process under steady mixed traffic (every answer of
// the 403 playground: 201, 200, 401, 403, 404, 405, 429) at high concurrency, sampled every
// second for resident memory, open descriptors (/proc/<pid>/fd) and latency. It judges
// what a leak or a slow degradation would show: memory that keeps growing after warm-up,
// descriptors that do not come back after the load, a p99 that drifts upwards.
//
//   node scripts/soak.ts                      10 minutes, 128 connections, heap capped at 64 MB (the documented run)
//   node scripts/soak.ts --seconds 60 --connections 64
// test/hardening/soak.test.ts runs the same code for ~12 s in the test command.

export interface SoakOptions {
  readonly seconds: number;
  readonly connections: number;
  /** Seconds at the start not judged (JIT, pools and caches filling). */
  readonly warmupSeconds: number;
  /**
   * Caps the demo's V8 old space (--max-old-space-size): a JavaScript leak then fails the
   * run (out of memory, errors) instead of hiding in a heap that grows lazily anyway.
   */
  readonly heapMb?: number;
  readonly log?: (line: string) => void;
}

export interface SoakSample {
  readonly t: number;
  readonly rssMb: number;
  readonly anonMb: number;
  /** Requests answered but not yet in the call log: the writer's backlog, held in memory. */
  readonly logBacklog: number;
  readonly fds: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface SoakReport {
  readonly options: SoakOptions;
  readonly requests: number;
  readonly rps: number;
  readonly statuses: Record<string, number>;
  /** Answers that were neither the expected status of their request nor a connection error. */
  readonly unexpected: number;
  readonly errors: number;
  readonly samples: readonly SoakSample[];
  /** Descriptors other than the upstream keep-alive pool's, before and after the load. */
  readonly fdsBefore: number;
  readonly fdsAfter: number;
  /** Sockets of the keep-alive pool to the echo upstream after the load (both ends: the echo server is in the demo process). */
  readonly upstreamPoolAfter: number;
  readonly fdsMax: number;
  readonly rssAfterWarmupMb: number;
  readonly rssEndMb: number;
  readonly rssMaxMb: number;
  readonly p99EarlyMs: number;
  readonly p99LateMs: number;
  readonly p99OverallMs: number;
  readonly p50OverallMs: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin/pinpoint.js');

interface Shot { readonly method: string; readonly path: string; readonly key?: string; readonly body?: string; readonly expect: number }
// One round of the playground; /api/limited gives 200 three times a minute per key, then 429.
const mix: readonly Shot[] = [
  { method: 'POST', path: '/api/orders', key: 'pk_demo_writer', body: '{"item":"book","qty":1}', expect: 201 },
  { method: 'GET', path: '/api/orders', key: 'pk_demo_reader', expect: 200 },
  { method: 'GET', path: '/api/orders/1001', key: 'pk_demo_writer', expect: 200 },
  { method: 'POST', path: '/api/orders', key: 'pk_demo_reader', body: '{"item":"book"}', expect: 403 },
  { method: 'GET', path: '/api/orders', key: 'pk_nonexistent', expect: 401 },
  { method: 'GET', path: '/api/orders', key: 'pk_demo_expired', expect: 401 },
  { method: 'GET', path: '/api/orders', expect: 401 },
  { method: 'GET', path: '/api/internal/report', key: 'pk_demo_writer', expect: 403 },
  { method: 'DELETE', path: '/api/orders', key: 'pk_demo_writer', expect: 405 },
  { method: 'GET', path: '/nope', expect: 404 },
  { method: 'GET', path: '/api/public/health', expect: 200 },
  { method: 'GET', path: '/api/limited', key: 'pk_demo_writer', expect: 429 },
];

async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ok = await Promise.all([base, base + 1, base + 2].map((p) => new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    })));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no free port');
}

/** Resident memory in MB: all of it, and the part of it that is anonymous (heaps) rather than mapped files or shared memory. */
function memory(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => { const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status); return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0; };
  return { rss: mb('VmRSS'), anon: mb('RssAnon') };
}
const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/**
 * Open descriptors of the process, with the sockets of its keep-alive pool to the demo's
 * echo upstream counted apart: those are bounded by the pool size and stay open for the
 * upstream's keep-alive hint (65 s), so they are not a leak; everything else must come back.
 */
export function descriptors(pid: number, upstreamPort: number): { total: number; upstreamPool: number; other: number } {
  const upstreamInodes = new Set<string>();
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try { text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = parseInt(cols[1]!.split(':')[1]!, 16);
      const remote = parseInt(cols[2]!.split(':')[1]!, 16);
      if (local === upstreamPort || remote === upstreamPort) upstreamInodes.add(cols[9]!);
    }
  }
  let total = 0;
  let upstreamPool = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    total++;
    let link = '';
    try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && upstreamInodes.has(m[1]!)) upstreamPool++;
  }
  return { total, upstreamPool, other: total - upstreamPool };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (n: number) => Math.round(n * 100) / 100;

async function startDemo(port: number, dataDir: string, heapMb: number | undefined): Promise<ChildProcess> {
  const args = [...(heapMb ? [`--max-old-space-size=${heapMb}`] : []), bin, 'demo', '--port', String(port), '--data-dir', dataDir];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PINPOINT_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo not ready:\n${out}`)), 20_000);
    const check = () => { if (out.includes('Try:')) { clearTimeout(timer); resolve(); } };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited with ${code}:\n${out}`)); });
  });
  return child;
}

export async function soak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-soak-'));
  const port = await freePort();
  const child = await startDemo(port, dataDir, options.heapMb);
  const pid = child.pid!;
  try {
    // Let the demo finish its start-up (first health probe, threads opening their files):
    // the baseline is taken once the count holds still for half a second.
    const upstreamPort = port + 2;
    let fdsBefore = descriptors(pid, upstreamPort).other;
    for (let steady = 0, i = 0; steady < 3 && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const now = descriptors(pid, upstreamPort).other;
      steady = now === fdsBefore ? steady + 1 : 0;
      fdsBefore = now;
    }
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: options.connections, pipelining: 1 });
    const statuses: Record<string, number> = {};
    let unexpected = 0;
    let errors = 0;
    let requests = 0;
    let window: number[] = [];
    const all: number[] = [];
    const samples: SoakSample[] = [];
    let running = true;
    const started = performance.now();

    const worker = async (w: number) => {
      for (let i = w; running; i++) {
        const shot = mix[i % mix.length]!;
        const t0 = performance.now();
        try {
          const res = await pool.request({
            method: shot.method, path: shot.path,
            headers: { ...(shot.key ? { 'x-api-key': shot.key } : {}), ...(shot.body ? { 'content-type': 'application/json' } : {}) },
            ...(shot.body ? { body: shot.body } : {}),
          });
          await res.body.dump();
          const ms = performance.now() - t0;
          window.push(ms);
          requests++;
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          // /api/limited answers 200 for the first three of each minute.
          if (res.statusCode !== shot.expect && !(shot.path === '/api/limited' && res.statusCode === 200)) unexpected++;
        } catch {
          errors++;
        }
      }
    };
    const workers = Array.from({ length: options.connections }, (_, w) => worker(w));
    const store = new DatabaseSync(join(dataDir, 'pinpoint.db'), { readOnly: true });
    const lastRow = store.prepare('SELECT coalesce(max(rowid), 0) AS n FROM calls');
    const sampler = setInterval(() => {
      const sorted = window.sort((a, b) => a - b);
      for (const v of sorted) all.push(v);
      const mem = memory(pid);
      let logged = 0;
      try { logged = Number((lastRow.get() as { n: number }).n); } catch { /* busy: next second */ }
      const s: SoakSample = { t: Math.round((performance.now() - started) / 1000), rssMb: mem.rss, anonMb: mem.anon, logBacklog: Math.max(0, requests - logged), fds: fdCount(pid), requests: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)) };
      window = [];
      samples.push(s);
      log(`t=${s.t}s rss=${s.rssMb}MB anon=${s.anonMb}MB log-backlog=${s.logBacklog} fds=${s.fds} req/s=${s.requests} p50=${s.p50Ms}ms p99=${s.p99Ms}ms`);
    }, 1000);
    await new Promise((r) => setTimeout(r, options.seconds * 1000));
    running = false;
    await Promise.all(workers);
    clearInterval(sampler);
    store.close();
    const elapsed = (performance.now() - started) / 1000;
    await pool.close();
    // The client connections close with the pool; give the gateway a moment to see it.
    let after = descriptors(pid, upstreamPort);
    for (let i = 0; i < 30 && after.other > fdsBefore; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = descriptors(pid, upstreamPort);
    }

    const judged = samples.filter((s) => s.t > options.warmupSeconds);
    const third = Math.max(1, Math.floor(judged.length / 3));
    const early = judged.slice(0, third);
    const late = judged.slice(-third);
    const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? 0; };
    all.sort((a, b) => a - b);
    return {
      options: { seconds: options.seconds, connections: options.connections, warmupSeconds: options.warmupSeconds, heapMb: options.heapMb },
      requests, rps: Math.round(requests / elapsed), statuses, unexpected, errors, samples, fdsBefore, fdsAfter: after.other, upstreamPoolAfter: after.upstreamPool, fdsMax: Math.max(...samples.map((x) => x.fds)),
      rssAfterWarmupMb: judged[0]?.rssMb ?? 0, rssEndMb: judged.at(-1)?.rssMb ?? 0, rssMaxMb: Math.max(...judged.map((s) => s.rssMb)),
      // The median of the per-second p99s in each third: one noisy second on a shared machine is not a trend.
      p99EarlyMs: median(early.map((s) => s.p99Ms)), p99LateMs: median(late.map((s) => s.p99Ms)),
      p99OverallMs: round(percentile(all, 99)), p50OverallMs: round(percentile(all, 50)),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((r) => { if (child.exitCode !== null) r(); else child.once('exit', () => r()); });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function reportMarkdown(r: SoakReport): string {
  return [
    `| measure | value |`,
    `| --- | --- |`,
    `| duration, connections | ${r.options.seconds} s, ${r.options.connections} (warm-up ${r.options.warmupSeconds} s not judged)${r.options.heapMb ? `, V8 old space capped at ${r.options.heapMb} MB` : ''} |`,
    `| requests, throughput | ${r.requests}, ${r.rps} req/s (mixed: 201/200/401/403/404/405/429) |`,
    `| unexpected answers, client errors | ${r.unexpected}, ${r.errors} |`,
    `| RSS after warm-up / max / end | ${r.rssAfterWarmupMb} / ${r.rssMaxMb} / ${r.rssEndMb} MB |`,
    `| open descriptors before / after the load (upstream keep-alive pool apart) | ${r.fdsBefore} / ${r.fdsAfter} (+ ${r.upstreamPoolAfter} pool sockets, both ends; max during load ${r.fdsMax} in all) |`,
    `| p50 / p99 overall | ${r.p50OverallMs} / ${r.p99OverallMs} ms |`,
    `| p99 (median per-second) first third / last third | ${r.p99EarlyMs} / ${r.p99LateMs} ms |`,
    `| statuses | ${Object.entries(r.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')} |`,
  ].join('\n');
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, connections: { type: 'string', default: '128' }, warmup: { type: 'string', default: '10' }, 'heap-mb': { type: 'string', default: '64' } } });
  const report = await soak({ seconds: Number(values.seconds), connections: Number(values.connections), warmupSeconds: Number(values.warmup), heapMb: Number(values['heap-mb']) || undefined, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${reportMarkdown(report)}\n\n${JSON.stringify({ ...report, samples: undefined })}\n`);
}
