import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { hashApiKey } from '../src/credentials/directory.ts';
import { demoIssuerPublicJwk } from '../src/demo/demo-keys.ts';

// The Pinpoint benchmark: `npm run bench` (10 s per system) or `npm run bench -- --short`
// (BENCH_SHORT=1; 3 s). See bench/README.md. Every system runs on CPU 0 (taskset), wrk
// and the shared upstream on CPU 1. Every child process is killed at the end, even on error.

const usage = `npm run bench [-- options]     (node bench/run.ts [options])
  --short             quick look: 2 s warm-up, 3 s measure (also BENCH_SHORT=1)
  --duration S        seconds measured per system (default 10; 3 with --short)
  --warmup S          seconds of warm-up per system, not measured (default 3; 2 with --short)
  --connections N     wrk connections (default 50)
  --threads N         wrk threads (default 1: wrk has one CPU)
  --rounds N          N measured runs per system, interleaved (all systems stay up, round-robin),
                      the median run by requests/s is reported (the lower one for even N);
                      better on a noisy machine (default 1)
  --only a,b          run only these systems: ${['direct', 'bare', 'public', 'key', 'jwt', 'refusal'].join(', ')}
  --no-write          print the table but do not write bench/results/latest.md`;

const root = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;
const SUT_CPU = 0;
const LOAD_CPU = 1;

class BenchAbort extends Error {}

// ---------------------------------------------------------------- options

interface Options {
  short: boolean;
  duration: number;
  warmup: number;
  connections: number;
  threads: number;
  rounds: number;
  only: Set<string> | null;
  write: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({ options: {
    short: { type: 'boolean', default: false }, duration: { type: 'string' }, warmup: { type: 'string' },
    connections: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' },
    'no-write': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) { process.stdout.write(`${usage}\n`); process.exit(0); }
  const short = values.short || ['1', 'true', 'yes'].includes((process.env.BENCH_SHORT ?? '').toLowerCase());
  const int = (name: string, v: string | undefined, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new BenchAbort(`--${name} must be a whole number >= ${min}, got "${v}"`);
    return n;
  };
  const only = values.only ? new Set(values.only.split(',').map((s) => s.trim()).filter(Boolean)) : null;
  if (only) for (const id of only) if (!systems.some((s) => s.id === id)) throw new BenchAbort(`--only: unknown system "${id}" (known: ${systems.map((s) => s.id).join(', ')})`);
  return {
    short,
    duration: int('duration', values.duration, short ? 3 : 10, 1),
    warmup: int('warmup', values.warmup, short ? 2 : 3, 0),
    connections: int('connections', values.connections, 50, 1),
    threads: int('threads', values.threads, 1, 1),
    rounds: int('rounds', values.rounds, 1, 1),
    only,
    write: !values['no-write'],
  };
}

// ---------------------------------------------------------------- processes

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  stdout: string;
  stderr: string;
  exitCode: number | null | undefined;
  readonly exited: Promise<void>;
}

const live = new Set<ChildProcess>();
/** Temporary directories removed at exit, whatever the way out. */
const scratch = new Set<string>();

function killAll(): void {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  scratch.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping every process it started\n`);
    killAll();
    process.exit(130);
  });
}

const MAX_CAPTURE = 1 << 20;

/** Starts a process, pinned to `cpu` with taskset (which execs, so the pid is the program's). */
function launch(name: string, cpu: number | null, command: string, args: readonly string[], env: Record<string, string> = {}): Proc {
  const argv = cpu === null || !pinning ? [command, ...args] : ['taskset', '-c', String(cpu), command, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let resolveExit!: () => void;
  const exited = new Promise<void>((resolve) => { resolveExit = resolve; });
  const proc: Proc = { name, child, pid: child.pid ?? -1, stdout: '', stderr: '', exitCode: undefined, exited };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { if (proc.stdout.length < MAX_CAPTURE) proc.stdout += s; });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { if (proc.stderr.length < MAX_CAPTURE) proc.stderr += s; });
  child.once('error', (err) => { proc.stderr += `\n(spawn failed: ${err.message})`; });
  child.once('close', (code, signal) => {
    proc.exitCode = code ?? (signal ? -1 : null);
    live.delete(child);
    resolveExit();
  });
  if (proc.pid < 0) throw new BenchAbort(`could not start ${name} (${argv.join(' ')})`);
  return proc;
}

/** SIGTERM, a grace period (Pinpoint drains and flushes its call log), then SIGKILL. */
async function stop(proc: Proc, graceMs = 8_000): Promise<void> {
  if (proc.exitCode !== undefined) return;
  proc.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => { const t = setTimeout(() => resolve('timeout'), graceMs); t.unref(); });
  if (await Promise.race([proc.exited.then(() => 'exited' as const), timer]) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!port) throw new BenchAbort('could not find a free port on 127.0.0.1');
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => { socket.destroy(); resolve(false); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

/** Waits until the port accepts connections; fails at once if the process died. */
async function waitReady(proc: Proc, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== undefined) throw new BenchAbort(`${proc.name} exited (code ${proc.exitCode}) before listening on port ${port}:\n${tail(proc.stderr || proc.stdout)}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new BenchAbort(`${proc.name} did not listen on port ${port} within ${timeoutMs / 1000} s:\n${tail(proc.stderr || proc.stdout)}`);
}

const tail = (s: string, n = 20) => s.trim().split('\n').slice(-n).map((l) => `    ${l}`).join('\n') || '    (no output)';

// ---------------------------------------------------------------- CPU accounting

let clockTicks = 100;

/** utime + stime of the whole process (all threads), in seconds. */
function processCpuSeconds(proc: Proc): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
  } catch {
    throw new BenchAbort(`${proc.name} (pid ${proc.pid}) died during the run:\n${tail(proc.stderr || proc.stdout)}`);
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state) of proc(5): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

interface CpuLine { busy: number; steal: number; total: number }

/** Per-CPU busy and total jiffies from /proc/stat (busy excludes idle, iowait and steal). */
function cpuTimes(): Map<number, CpuLine> {
  const out = new Map<number, CpuLine>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[2]!.trim().split(/\s+/).map(Number);
    out.set(Number(m[1]), { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal });
  }
  return out;
}

function busyPercent(before: Map<number, CpuLine>, after: Map<number, CpuLine>, cpu: number): number | null {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return null;
  return (100 * (b.busy - a.busy)) / (b.total - a.total);
}

/** Time the hypervisor gave this CPU to someone else: a noisy-neighbour signal. */
function stealPercent(before: Map<number, CpuLine>, after: Map<number, CpuLine>, cpu: number): number | null {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return null;
  return (100 * (b.steal - a.steal)) / (b.total - a.total);
}

// ---------------------------------------------------------------- wrk

interface WrkResult {
  requests: number;
  durationUs: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  /** Responses with status >= 400 (wrk's "Non-2xx or 3xx responses"). */
  statusErrors: number;
  timeouts: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  raw: string;
}

interface Load {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

function luaScript(load: Load): string {
  const lines = ['-- written by bench/run.ts for one wrk run', `wrk.method = "${load.method}"`];
  if (load.body !== undefined) lines.push(`wrk.body = [==[${load.body}]==]`);
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'BENCH_RESULT {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}\\n\',',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))',
    'end',
    '',
  );
  return lines.join('\n');
}

async function runWrk(load: Load, seconds: number, opts: Options, scriptFile: string): Promise<WrkResult> {
  writeFileSync(scriptFile, luaScript(load));
  const args = ['-t', String(opts.threads), '-c', String(Math.max(opts.connections, opts.threads)), '-d', `${seconds}s`, '--timeout', '5s', '--latency', '-s', scriptFile];
  for (const [name, value] of Object.entries(load.headers)) args.push('-H', `${name}: ${value}`);
  args.push(load.url);
  const proc = launch('wrk', LOAD_CPU, 'wrk', args);
  const deadline = setTimeout(() => proc.child.kill('SIGKILL'), (seconds + 30) * 1000);
  await proc.exited;
  clearTimeout(deadline);
  const m = /^BENCH_RESULT (\{.*\})$/m.exec(proc.stdout);
  if (proc.exitCode !== 0 || !m) throw new BenchAbort(`wrk failed (exit ${proc.exitCode}):\n${tail(proc.stderr + proc.stdout)}`);
  return { ...(JSON.parse(m[1]!) as Omit<WrkResult, 'raw'>), raw: proc.stdout.replace(m[0], '').trim() };
}

// ---------------------------------------------------------------- environment

let pinning = true;

function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** wrk comes from Debian: installed here if missing (apt-get update first only when needed). */
function ensureWrk(): void {
  if (have('wrk')) return;
  const manual = 'install it yourself (Debian/Ubuntu: `apt-get update && apt-get install -y wrk`) and run the benchmark again';
  if (!have('apt-get')) throw new BenchAbort(`wrk is not installed and there is no apt-get here: ${manual}`);
  if (process.getuid?.() !== 0) throw new BenchAbort(`wrk is not installed and installing it needs root: ${manual.replace('apt-get', 'sudo apt-get')}`);
  process.stdout.write('wrk is not installed: installing it with apt-get (Debian package "wrk")\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'install', '-y', '--no-install-recommends', 'wrk'], { stdio: 'inherit', env }).status === 0;
  if (!install()) {
    process.stdout.write('apt-get install failed; running apt-get update and trying again\n');
    const updated = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', 'update'], { stdio: 'inherit', env }).status === 0;
    if (!updated || !install()) throw new BenchAbort(`could not install wrk with apt-get (no network to the Debian mirror?): ${manual}`);
  }
  if (!have('wrk')) throw new BenchAbort(`apt-get reported success but wrk is still not on PATH: ${manual}`);
}

function checkPlatform(): string[] {
  const notes: string[] = [];
  if (process.platform !== 'linux') throw new BenchAbort('the benchmark reads /proc and uses taskset: it runs on Linux only');
  if (!have('taskset')) throw new BenchAbort('taskset is missing (Debian package util-linux): `apt-get install -y util-linux`');
  const n = availableParallelism();
  if (n < 2) {
    pinning = false;
    notes.push(`only ${n} CPU available: NOT pinned, the system under test, wrk and the upstream share one CPU`);
  } else if (n > 2) {
    notes.push(`${n} CPUs available; only CPUs ${SUT_CPU} and ${LOAD_CPU} are used`);
  }
  const tck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
  if (Number.isInteger(tck) && tck > 0) clockTicks = tck;
  return notes;
}

const benchKeys = { reader: 'pk_bench_reader', writer: 'pk_bench_writer' } as const;

/** The configs are static files: make sure their key hashes and JWK are the ones the bench sends. */
function checkConfigs(): void {
  const file = join(root, 'bench/configs/full-chain.yaml');
  const cfg = parseYaml(readFileSync(file, 'utf8')) as { consumers?: { keys?: { id: string; hash: string }[] }[]; issuers?: { jwks?: { keys?: { n?: string; kid?: string }[] } }[] };
  const hashes = new Set((cfg.consumers ?? []).flatMap((c) => (c.keys ?? []).map((k) => k.hash)));
  for (const key of Object.values(benchKeys)) {
    if (!hashes.has(`sha256:${hashApiKey(key)}`)) throw new BenchAbort(`${file}: no key entry has the hash of ${key} (expected sha256:${hashApiKey(key)}, see \`pinpoint key hash ${key}\`)`);
  }
  const jwk = demoIssuerPublicJwk();
  const keys = cfg.issuers?.[0]?.jwks?.keys ?? [];
  if (!keys.some((k) => k.n === jwk.n && k.kid === jwk.kid)) throw new BenchAbort(`${file}: the issuer JWK is not demoIssuerPublicJwk() (src/demo/demo-keys.ts); paste the current one`);
}

function mintToken(scope: string): string {
  const r = spawnSync(node, ['bin/pinpoint.js', 'token', '--sub', 'bench', '--scope', scope, '--ttl', '3600'], { cwd: root, encoding: 'utf8' });
  const token = r.stdout.trim();
  if (r.status !== 0 || token.split('.').length !== 3) throw new BenchAbort(`\`pinpoint token\` failed (exit ${r.status}):\n${tail(r.stderr)}`);
  return token;
}

// ---------------------------------------------------------------- HTTP checks before timing

interface Answer { status: number; headers: Headers; text: string }

/** Requests sent by the checks, counted so the call log can be compared with what was answered. */
let callsMade = 0;

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  callsMade++;
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw new BenchAbort(`request ${init.method ?? 'GET'} ${url} failed: ${(err as Error).message}`);
  }
}

function expectAnswer(what: string, a: Answer, status: number | 'ok', code?: string): void {
  const statusOk = status === 'ok' ? a.status >= 200 && a.status < 300 : a.status === status;
  let gotCode: string | undefined;
  try { gotCode = (JSON.parse(a.text) as { code?: string }).code; } catch { gotCode = undefined; }
  if (!statusOk || (code !== undefined && gotCode !== code)) {
    throw new BenchAbort(`check failed, ${what}: expected ${status === 'ok' ? '2xx' : status}${code ? ` ${code}` : ''}, got ${a.status}${gotCode ? ` ${gotCode}` : ''}: ${a.text.slice(0, 300)}`);
  }
}

const upstreamBody = JSON.stringify({ ok: true, service: 'bench-upstream', items: [{ id: 1, sku: 'A-1' }, { id: 2, sku: 'B-2' }] });

function expectUpstreamBody(what: string, a: Answer): void {
  if (a.text !== upstreamBody) throw new BenchAbort(`check failed, ${what}: the body is not the upstream's: ${a.text.slice(0, 300)}`);
}

// ---------------------------------------------------------------- systems

interface Env {
  readonly tmp: string;
  readonly upstreamUrl: string;
  readonly token: string;
}

interface Started { proc: Proc; base: string }

interface System {
  readonly id: string;
  readonly name: string;
  /** What this row shows, for the notes. */
  readonly about: string;
  /** The row counts refusals (4xx) as its successful answers. */
  readonly refuses?: boolean;
  start(env: Env, port: number): Proc;
  load(env: Env, base: string): Load;
  /** Before timing: the happy path answers as it should and what must be refused is. Returns lines to print. */
  verify(env: Env, base: string): Promise<string[]>;
}

function startPinpoint(env: Env, port: number, id: string, config: string): Proc {
  const dataDir = join(env.tmp, `data-${id}`);
  mkdirSync(dataDir, { recursive: true });
  return launch(`pinpoint (${id})`, SUT_CPU, node, ['bin/pinpoint.js', 'serve', '--config', `bench/configs/${config}`, '--data-dir', dataDir, '--port', String(port)], { BENCH_UPSTREAM_URL: env.upstreamUrl });
}

const jsonBody = '{"sku":"A-1","qty":1}';

const systems: readonly System[] = [
  {
    id: 'direct', name: 'upstream direct (baseline)',
    about: 'wrk straight to a second instance of bench/upstream.ts (same code, same body) on CPU 0: for the baseline the upstream is the system under test',
    start: (_env, port) => launch('upstream (baseline on CPU 0)', SUT_CPU, node, ['bench/upstream.ts', '--port', String(port)]),
    load: (_env, base) => ({ url: `${base}/api/orders`, method: 'GET', headers: {} }),
    async verify(_env, base) {
      const a = await call(`${base}/api/orders`);
      expectAnswer('GET upstream', a, 'ok');
      expectUpstreamBody('GET upstream', a);
      return ['GET -> 200 with the upstream body (the upstream enforces nothing)'];
    },
  },
  {
    id: 'bare', name: 'bare proxy (node:http + undici Pool)',
    about: 'bench/bare-proxy.ts: node:http server streaming through undici Pool.dispatch, no routing, checks or log; the runtime floor',
    start: (env, port) => launch('bare proxy', SUT_CPU, node, ['bench/bare-proxy.ts', '--port', String(port), '--upstream', env.upstreamUrl]),
    load: (_env, base) => ({ url: `${base}/api/orders`, method: 'GET', headers: {} }),
    async verify(_env, base) {
      const a = await call(`${base}/api/orders`);
      expectAnswer('GET through the bare proxy', a, 'ok');
      expectUpstreamBody('GET through the bare proxy', a);
      return ['GET -> 200 with the upstream body (the bare proxy enforces nothing)'];
    },
  },
  {
    id: 'public', name: 'Pinpoint, public route (no checks)',
    about: 'bench/configs/public.yaml: routing, request-shape check, forwarding, call log',
    start: (env, port) => startPinpoint(env, port, 'public', 'public.yaml'),
    load: (_env, base) => ({ url: `${base}/api/public/orders`, method: 'GET', headers: {} }),
    async verify(_env, base) {
      const ok = await call(`${base}/api/public/orders`);
      expectAnswer('GET public route', ok, 'ok');
      expectUpstreamBody('GET public route', ok);
      if (!ok.headers.get('x-request-id')) throw new BenchAbort('check failed: the public route answered without x-request-id, so it did not come through Pinpoint');
      expectAnswer('GET unknown path', await call(`${base}/api/nowhere`), 404, 'route_not_found');
      expectAnswer('POST on a GET-only route', await call(`${base}/api/public/orders`, { method: 'POST' }), 405, 'method_not_allowed');
      return ['GET -> 200 with the upstream body and x-request-id', 'unknown path -> 404 route_not_found', 'POST -> 405 method_not_allowed'];
    },
  },
  {
    id: 'key', name: 'Pinpoint, full chain, API key',
    about: 'bench/configs/full-chain.yaml, GET with x-api-key: API key, account status, scope orders:read, IP allow-list 127.0.0.0/8, GCRA rate limit, call log',
    start: (env, port) => startPinpoint(env, port, 'key', 'full-chain.yaml'),
    load: (_env, base) => ({ url: `${base}/api/orders`, method: 'GET', headers: { 'x-api-key': benchKeys.reader } }),
    async verify(env, base) {
      const url = `${base}/api/orders`;
      const ok = await call(url, { headers: { 'x-api-key': benchKeys.reader } });
      expectAnswer('GET with the reader key', ok, 'ok');
      expectUpstreamBody('GET with the reader key', ok);
      if (!ok.headers.get('ratelimit')) throw new BenchAbort('check failed: GET with a key answered without a RateLimit header, so the rate limit did not run');
      expectAnswer('GET without a key', await call(url), 401, 'credential_missing');
      expectAnswer('GET with an unknown key', await call(url, { headers: { 'x-api-key': 'pk_bench_nobody' } }), 401, 'credential_unknown');
      expectAnswer('POST with the read-only key', await call(url, { method: 'POST', headers: { 'x-api-key': benchKeys.reader, 'content-type': 'application/json' }, body: jsonBody }), 403, 'insufficient_scope');
      simulateIpRefusal(env);
      return ['GET with key -> 200 with the upstream body and RateLimit headers', 'no key -> 401 credential_missing', 'unknown key -> 401 credential_unknown',
        'read-only key on POST -> 403 insufficient_scope', '`pinpoint simulate` from 10.1.2.3 -> 403 ip_not_allowed (the allow-list is in the chain)'];
    },
  },
  {
    id: 'jwt', name: 'Pinpoint, full chain, JWT (RS256)',
    about: 'the same route with Authorization: Bearer <RS256 token from `pinpoint token`>; one token, so after the first request it is a verified-token cache hit',
    start: (env, port) => startPinpoint(env, port, 'jwt', 'full-chain.yaml'),
    load: (env, base) => ({ url: `${base}/api/orders`, method: 'GET', headers: { authorization: `Bearer ${env.token}` } }),
    async verify(env, base) {
      const url = `${base}/api/orders`;
      const [h, p, s] = env.token.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      expectAnswer('GET with a tampered token', await call(url, { headers: { authorization: `Bearer ${flipped}` } }), 401, 'token_signature_invalid');
      const ok = await call(url, { headers: { authorization: `Bearer ${env.token}` } });
      expectAnswer('GET with the token', ok, 'ok');
      expectUpstreamBody('GET with the token', ok);
      expectAnswer('GET without a credential', await call(url), 401, 'credential_missing');
      expectAnswer('POST with a token scoped orders:read', await call(url, { method: 'POST', headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json' }, body: jsonBody }), 403, 'insufficient_scope');
      return ['tampered signature -> 401 token_signature_invalid', 'GET with token -> 200 with the upstream body', 'no credential -> 401 credential_missing', 'token without orders:write on POST -> 403 insufficient_scope'];
    },
  },
  {
    id: 'refusal', name: 'Pinpoint, 100% refusals (403)', refuses: true,
    about: 'POST with the read-only key (a small JSON body): refused by the scope check with 403 insufficient_scope, logged, never forwarded',
    start: (env, port) => startPinpoint(env, port, 'refusal', 'full-chain.yaml'),
    load: (_env, base) => ({ url: `${base}/api/orders`, method: 'POST', headers: { 'x-api-key': benchKeys.reader, 'content-type': 'application/json' }, body: jsonBody }),
    async verify(_env, base) {
      const url = `${base}/api/orders`;
      const init = (key: string) => ({ method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: jsonBody });
      expectAnswer('POST with the read-only key', await call(url, init(benchKeys.reader)), 403, 'insufficient_scope');
      expectAnswer('POST with the writer key', await call(url, init(benchKeys.writer)), 'ok');
      return ['read-only key on POST -> 403 insufficient_scope', 'writer key on the same POST -> 2xx (the refusal is the scope, nothing else)'];
    },
  },
];

function simulateIpRefusal(env: Env): void {
  const r = spawnSync(node, ['bin/pinpoint.js', 'simulate', '--config', 'bench/configs/full-chain.yaml', '--method', 'GET', '--path', '/api/orders', '--key', benchKeys.reader, '--ip', '10.1.2.3', '--json'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, BENCH_UPSTREAM_URL: env.upstreamUrl } });
  let code: string | null = null;
  try { code = (JSON.parse(r.stdout) as { code: string | null }).code; } catch { code = null; }
  if (code !== 'ip_not_allowed') throw new BenchAbort(`check failed: \`pinpoint simulate\` from 10.1.2.3 should be refused with ip_not_allowed, got ${code ?? r.stderr.trim().slice(0, 300)}`);
}

// ---------------------------------------------------------------- one system

interface Run {
  wrk: WrkResult;
  rps: number;
  cpuSeconds: number;
  wallSeconds: number;
  cpu0Busy: number | null;
  cpu0Steal: number | null;
  cpu1Busy: number | null;
  upstreamCpuPercent: number | null;
}

/** A system started, checked and warmed up, ready for measured runs. */
interface Prepared {
  readonly system: System;
  readonly proc: Proc;
  readonly load: Load;
  readonly script: string;
  /** Pinpoint's data directory (its call log), null for the others. */
  readonly dataDir: string | null;
  /** Requests the system answered: the checks, then every wrk run (warm-up included). */
  answered: number;
  readonly runs: Run[];
}

interface Row extends Run {
  system: System;
  /** Every measured run's requests/s (several with --rounds). */
  allRps: number[];
  callLog: string | null;
}

async function prepare(system: System, env: Env, opts: Options): Promise<Prepared> {
  const port = await freePort();
  const proc = system.start(env, port);
  await waitReady(proc, port);
  const base = `http://127.0.0.1:${port}`;
  callsMade = 0;
  const checks = await system.verify(env, base);
  for (const line of checks) process.stdout.write(`    check: ${line}\n`);
  const p: Prepared = {
    system, proc, load: system.load(env, base), script: join(env.tmp, `${system.id}.lua`),
    dataDir: system.id === 'direct' || system.id === 'bare' ? null : join(env.tmp, `data-${system.id}`), answered: callsMade, runs: [],
  };
  if (opts.warmup > 0) {
    process.stdout.write(`    warm-up ${opts.warmup} s ...\n`);
    p.answered += (await runWrk(p.load, opts.warmup, opts, p.script)).requests;
  }
  return p;
}

async function measureOnce(p: Prepared, upstream: Proc, opts: Options): Promise<void> {
  const cpuBefore = cpuTimes();
  const sutBefore = processCpuSeconds(p.proc);
  const upBefore = p.system.id === 'direct' ? null : processCpuSeconds(upstream);
  const t0 = performance.now();
  const wrk = await runWrk(p.load, opts.duration, opts, p.script);
  const wallSeconds = (performance.now() - t0) / 1000;
  const sutAfter = processCpuSeconds(p.proc);
  const upAfter = upBefore === null ? null : processCpuSeconds(upstream);
  const cpuAfter = cpuTimes();
  await sleep(20);
  if (p.proc.exitCode !== undefined) throw new BenchAbort(`${p.proc.name} exited during the run (code ${p.proc.exitCode}):\n${tail(p.proc.stderr || p.proc.stdout)}`);
  const rps = wrk.requests / (wrk.durationUs / 1e6);
  p.answered += wrk.requests;
  p.runs.push({
    wrk, rps, cpuSeconds: sutAfter - sutBefore, wallSeconds,
    cpu0Busy: busyPercent(cpuBefore, cpuAfter, SUT_CPU), cpu0Steal: stealPercent(cpuBefore, cpuAfter, SUT_CPU), cpu1Busy: busyPercent(cpuBefore, cpuAfter, LOAD_CPU),
    upstreamCpuPercent: upBefore === null || upAfter === null ? null : (100 * (upAfter - upBefore)) / wallSeconds,
  });
  process.stdout.write(`    ${int(rps)} req/s, p50 ${ms(wrk.p50)}, p99 ${ms(wrk.p99)}, SUT CPU ${pct((100 * (sutAfter - sutBefore)) / wallSeconds)}\n`);
  const bad = wrk.connectErrors + wrk.readErrors + wrk.writeErrors + wrk.timeouts;
  if (p.system.refuses ? wrk.statusErrors < wrk.requests : wrk.statusErrors > 0) {
    process.stdout.write(`    WARNING: ${wrk.statusErrors} of ${wrk.requests} answers were >= 400 (expected ${p.system.refuses ? 'all' : 'none'})\n`);
  }
  if (bad > 0) process.stdout.write(`    WARNING: socket errors: connect ${wrk.connectErrors}, read ${wrk.readErrors}, write ${wrk.writeErrors}, timeouts ${wrk.timeouts}\n`);
}

/** Stops the system and keeps its median run by requests/s. */
async function finish(p: Prepared): Promise<Row> {
  await stop(p.proc);
  const sorted = [...p.runs].sort((a, b) => a.rps - b.rps);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...median, system: p.system, allRps: p.runs.map((r) => r.rps), callLog: p.dataDir ? callLogCount(p) : null };
}

/**
 * Rows in Pinpoint's call log once it has stopped, against the requests it answered (the
 * checks and every wrk run; wrk does not count the requests in flight when it stops, so a
 * few more rows than answers is normal). Fewer rows means records were dropped or lost.
 */
function callLogCount(p: Prepared): string {
  try {
    const db = new DatabaseSync(join(p.dataDir!, 'pinpoint.db'), { readOnly: true });
    try {
      const rows = (db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n;
      const dropped = (db.prepare("SELECT value FROM log_stats WHERE name = 'dropped_records'").get() as { value: number } | undefined)?.value ?? 0;
      return `${int(rows)} rows / ${int(p.answered)} answered${dropped ? `, ${int(dropped)} dropped` : ''}`;
    } finally {
      db.close();
    }
  } catch (err) {
    return `unreadable (${(err as Error).message})`;
  }
}

// ---------------------------------------------------------------- report

const ms = (us: number) => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
const plusMs = (us: number) => `${us >= 0 ? '+' : '−'}${(Math.abs(us) / 1000).toFixed(Math.abs(us) < 10_000 ? 2 : 1)} ms`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (n: number | null) => (n === null ? 'n/a' : `${Math.round(n)}%`);

function table(rows: readonly Row[]): string {
  const bare = rows.find((r) => r.system.id === 'bare');
  const direct = rows.find((r) => r.system.id === 'direct');
  const head = ['System', 'req/s', 'vs bare proxy', 'p50', 'p99', 'p99.9', '+p50 vs direct', '+p99 vs direct', 'req per CPU-s (SUT)', 'SUT CPU', 'answers ≥ 400'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const w = r.wrk;
    const cells = [
      r.system.name + (r.system.refuses ? ' ¹' : ''),
      int(r.rps),
      bare ? `${(r.rps / bare.rps).toFixed(2)}×` : 'n/a',
      ms(w.p50), ms(w.p99), ms(w.p999),
      direct && r !== direct ? plusMs(w.p50 - direct.wrk.p50) : '—',
      direct && r !== direct ? plusMs(w.p99 - direct.wrk.p99) : '—',
      r.cpuSeconds > 0 ? int(w.requests / r.cpuSeconds) : 'n/a',
      pct((100 * r.cpuSeconds) / r.wallSeconds),
      w.requests ? `${((100 * w.statusErrors) / w.requests).toFixed(w.statusErrors === 0 || w.statusErrors === w.requests ? 0 : 2)}%` : 'n/a',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function diagnostics(rows: readonly Row[]): string {
  const head = ['System', 'requests measured', 'SUT CPU', 'CPU 0 busy (all processes)', 'CPU 0 steal', 'CPU 1 busy (wrk + upstream + others)', 'upstream CPU', 'socket errors', 'call log (whole life)', 'runs req/s'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const w = r.wrk;
    lines.push(`| ${[
      r.system.name, int(w.requests), pct((100 * r.cpuSeconds) / r.wallSeconds), pct(r.cpu0Busy), pct(r.cpu0Steal), pct(r.cpu1Busy), pct(r.upstreamCpuPercent),
      String(w.connectErrors + w.readErrors + w.writeErrors + w.timeouts), r.callLog ?? '—', r.allRps.map((x) => int(x)).join(', '),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

function cpuModel(): string {
  const models = cpus().map((c) => c.model.trim());
  return models.length ? `${models[0]} (${models.length} CPUs visible, ${availableParallelism()} usable)` : 'unknown';
}

function report(rows: readonly Row[], opts: Options, notes: readonly string[], startedAt: Date, load: number[]): string {
  const pinLine = pinning
    ? `Pinned with taskset: the system under test on CPU ${SUT_CPU}; wrk and the upstream on CPU ${LOAD_CPU}.`
    : 'NOT pinned (fewer than 2 CPUs): every process shares the CPUs.';
  return [
    '# Pinpoint benchmark',
    '',
    `- date: ${startedAt.toISOString()}`,
    `- node: ${process.version} (${node})`,
    `- CPU: ${cpuModel()}`,
    `- kernel: ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}; load average at start: ${load.map((x) => x.toFixed(2)).join(' ')}`,
    `- mode: ${opts.short ? 'short' : 'full'}; wrk ${opts.threads} thread(s), ${opts.connections} connections, ${opts.warmup} s warm-up, ${opts.duration} s measured${opts.rounds > 1 ? `, median of ${opts.rounds} interleaved rounds` : ''}`,
    `- ${pinLine}`,
    ...notes.map((n) => `- note: ${n}`),
    '',
    table(rows),
    '',
    'Latencies are wrk\'s (closed loop, fixed connections, at saturation): service time under full load, not latency at a moderate rate.',
    '"vs bare proxy" is requests/s relative to the bare proxy; "+p50/+p99 vs direct" is what the hop adds over wrk → upstream.',
    '"req per CPU-s" is requests measured / (utime + stime of the system under test over the measured window, all threads, from /proc/<pid>/stat).',
    '¹ every answer is a 403 refusal, counted as the work done.',
    '',
    '## Systems',
    '',
    ...rows.map((r) => `- **${r.system.name}**: ${r.system.about}.`),
    '',
    '## Diagnostics',
    '',
    diagnostics(rows),
    '',
    'SUT CPU near 100% means the system under test was the bottleneck; CPU 0 busy well above SUT CPU means other processes took CPU 0 during the run;',
    'CPU 1 near 100% means the load generator side (wrk + upstream) may have been the limit rather than the system under test.',
    'CPU 0 steal is time the hypervisor gave CPU 0 to other guests: high steal makes every number on that row lower and noisier.',
    'Call log: rows in Pinpoint\'s call log after it stopped / requests it answered over its whole life (checks, warm-up, measured runs).',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  let opts: Options;
  try { opts = readOptions(); } catch (err) {
    if (err instanceof BenchAbort) { process.stderr.write(`bench: ${err.message}\n${usage}\n`); return 2; }
    throw err;
  }
  const startedAt = new Date();
  const load = loadavg();
  const notes = checkPlatform();
  ensureWrk();
  checkConfigs();
  const chosen = systems.filter((s) => !opts.only || opts.only.has(s.id));

  process.stdout.write([
    `Pinpoint benchmark (${opts.short ? 'short' : 'full'} mode): ${chosen.length} system(s), ${opts.warmup} s warm-up + ${opts.duration} s measured each, wrk -t${opts.threads} -c${opts.connections}`,
    pinning ? `Pinning: system under test on CPU ${SUT_CPU} (taskset -c ${SUT_CPU}); wrk and the upstream on CPU ${LOAD_CPU} (taskset -c ${LOAD_CPU}).` : 'Pinning: NONE (fewer than 2 CPUs).',
    ...notes.map((n) => `Note: ${n}`),
    `node ${process.version}, ${cpuModel()}, load average ${load.map((x) => x.toFixed(2)).join(' ')}`,
    '',
  ].join('\n'));

  const tmp = mkdtempSync(join(tmpdir(), 'pinpoint-bench-'));
  scratch.add(tmp);
  let upstream: Proc | null = null;
  const prepared: Prepared[] = [];
  try {
    const token = mintToken('orders:read');
    const upstreamPort = await freePort();
    upstream = launch('upstream', LOAD_CPU, node, ['bench/upstream.ts', '--port', String(upstreamPort)]);
    await waitReady(upstream, upstreamPort);
    const env: Env = { tmp, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, token };
    process.stdout.write(`upstream: bench/upstream.ts on ${env.upstreamUrl} (pid ${upstream.pid}, CPU ${LOAD_CPU})\n\n`);

    const rows: Row[] = [];
    if (opts.rounds === 1) {
      // Each system in turn: start, check, warm up, measure, stop.
      for (const [i, system] of chosen.entries()) {
        process.stdout.write(`[${i + 1}/${chosen.length}] ${system.name}\n`);
        const p = await prepare(system, env, opts);
        prepared.push(p);
        process.stdout.write(`    measure ${opts.duration} s ...\n`);
        await measureOnce(p, upstream, opts);
        rows.push(await finish(p));
        process.stdout.write('\n');
      }
    } else {
      // Each system started in turn, checked and warmed up; then interleaved rounds, so a
      // slow minute on a shared machine hits every system alike. Idle systems wait on CPU 0.
      for (const [i, system] of chosen.entries()) {
        process.stdout.write(`[${i + 1}/${chosen.length}] ${system.name}: start\n`);
        prepared.push(await prepare(system, env, opts));
      }
      for (let r = 1; r <= opts.rounds; r++) {
        process.stdout.write(`\nround ${r}/${opts.rounds}\n`);
        // Rotated each round, so no system always runs first or after the same neighbour.
        for (let i = 0; i < prepared.length; i++) {
          const p = prepared[(i + r - 1) % prepared.length]!;
          process.stdout.write(`  ${p.system.name}: measure ${opts.duration} s\n`);
          await measureOnce(p, upstream, opts);
        }
      }
      process.stdout.write('\n');
      for (const p of prepared) rows.push(await finish(p));
    }

    const md = report(rows, opts, notes, startedAt, load);
    process.stdout.write(`${md}\n`);
    if (opts.write) {
      const out = join(root, 'bench/results/latest.md');
      mkdirSync(join(root, 'bench/results'), { recursive: true });
      writeFileSync(out, md);
      process.stdout.write(`written to ${out}\n`);
    }
    return 0;
  } finally {
    for (const p of prepared) await stop(p.proc);
    if (upstream) await stop(upstream);
    killAll();
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  killAll();
  if (err instanceof BenchAbort) process.stderr.write(`\nbench: ABORTED: ${err.message}\n`);
  else process.stderr.write(`\nbench: failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
