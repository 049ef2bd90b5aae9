import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createWafEngine } from '../src/waf/engine.ts';
import { parseBody } from '../src/web/request-body.ts';
import type { RequestContext } from '../src/pipeline/types.ts';
import { benignCorpus } from '../test/waf/fixtures/benign-corpus.ts';

// The WAF's cost, standalone (bench/run.ts is the gateway benchmark; this one does not
// touch it): the same gateway, the same route shape, with and without the WAF, on
// realistic benign JSON bodies of ~1 KB and ~64 KB.
//   node bench/waf.ts [--duration S] [--warmup S] [--connections N] [--short] [--no-write]
// Needs Linux, wrk and taskset (as bench/run.ts): the gateway on CPU 0, wrk and the
// upstream on CPU 1. Writes bench/results/waf.md.

const { values: opts } = parseArgs({ options: {
  duration: { type: 'string', default: '8' }, warmup: { type: 'string', default: '2' }, connections: { type: 'string', default: '20' },
  short: { type: 'boolean', default: false }, 'no-write': { type: 'boolean', default: false },
} });
const duration = opts.short ? 3 : Number(opts.duration);
const warmup = opts.short ? 1 : Number(opts.warmup);
const connections = Number(opts.connections);
const root = resolve(import.meta.dirname, '..');
const node = process.execPath;
const pin = availableParallelism() >= 2 && spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
const children: ChildProcess[] = [];
const cleanup = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
process.on('exit', cleanup);
process.on('SIGINT', () => { cleanup(); process.exit(130); });

if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('bench/waf.ts needs wrk (Debian/Ubuntu: apt-get install -y wrk)\n');
  process.exit(1);
}

/** Realistic bodies from the benign corpus: comments with prose, code and URLs, batched to the target size. */
function bodyOfSize(target: number): string {
  const texts = benignCorpus().filter((r) => r.contentType === 'application/json').map((r) => JSON.parse(r.body) as unknown);
  const comments: unknown[] = [];
  let i = 0;
  while (JSON.stringify({ comments }).length < target) comments.push(texts[i++ % texts.length]);
  comments.pop();
  return JSON.stringify({ batch: 'bench', comments });
}

function freePort(): Promise<number> {
  return new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
}

function launch(cpu: number, cmd: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const argv = pin ? ['taskset', '-c', String(cpu), cmd, ...args] : [cmd, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((res, rej) => {
    const on = (c: Buffer) => { out += c.toString(); if (ready.test(out)) res(child); };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => rej(new Error(`${cmd} exited with ${code}:\n${out}`)));
    setTimeout(() => rej(new Error(`${cmd} not ready:\n${out}`)), 20_000);
  });
}

interface Result { rps: number; p50: number; p99: number; errors: number; cpuUsPerRequest: number }

const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/** utime + stime of a process, all threads (the call-log worker included), in µs. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1e6;
  } catch { return NaN; }
}

function wrk(url: string, bodyFile: string, seconds: number, dir: string, gatewayPid = 0): Result {
  const cpu0 = cpuOf(gatewayPid);
  const script = join(dir, 'post.lua');
  writeFileSync(script, [
    'wrk.method = "POST"',
    'wrk.headers["Content-Type"] = "application/json"',
    `local f = io.open("${bodyFile}", "rb"); wrk.body = f:read("*a"); f:close()`,
    'done = function(s, latency)',
    '  io.write(string.format("BENCH {\\"requests\\":%d,\\"us\\":%d,\\"errors\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n", s.requests, s.duration, s.errors.status + s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
  ].join('\n'));
  const argv = ['wrk', '-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', script, url];
  const r = spawnSync(pin ? 'taskset' : argv[0]!, pin ? ['-c', '1', ...argv] : argv.slice(1), { encoding: 'utf8' });
  const m = /^BENCH (\{.*\})$/m.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stderr}${r.stdout}`);
  const j = JSON.parse(m[1]!) as { requests: number; us: number; errors: number; p50: number; p99: number };
  return { rps: j.requests / (j.us / 1e6), p50: j.p50 / 1000, p99: j.p99 / 1000, errors: j.errors, cpuUsPerRequest: (cpuOf(gatewayPid) - cpu0) / j.requests };
}

/** The engine alone, in this process: mean CPU time of one inspection (CPU, not wall: the machine may be shared). */
async function engineMicros(body: string): Promise<number> {
  const engine = createWafEngine({ paranoia: 1, disabledRules: new Set(), exceptions: new Map(), skipHeaders: new Set() });
  const parsed = await parseBody(Buffer.from(body), 'application/json');
  const ctx = { path: '/waf', query: '', headers: { 'content-type': 'application/json', 'user-agent': 'wrk' }, body: parsed } as unknown as RequestContext;
  if (engine.inspect(ctx, false).length) throw new Error('the bench body is blocked: it must be benign');
  for (let i = 0; i < 100; i++) engine.inspect(ctx, false);
  const runs = 300;
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) engine.inspect(ctx, false);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / runs;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-bench-waf-'));
  try {
    const bodies = { '1 KB': bodyOfSize(1024), '64 KB': bodyOfSize(64 * 1024) };
    const upstreamPort = await freePort();
    await launch(1, node, ['bench/upstream.ts', '--port', String(upstreamPort)], /listening/);
    const gwPort = await freePort();
    const route = (id: string, path: string, waf: boolean) => [
      `  - id: ${id}`, `    path: ${path}`, '    methods: [POST]', '    upstream: up', '    maxBodyBytes: 131072', '    contentTypes: [application/json]',
      ...(waf ? ['    waf: { mode: block, paranoia: 1 }'] : []),
    ].join('\n');
    const config = join(dir, 'waf-bench.yaml');
    writeFileSync(config, [
      `gateway: { host: 127.0.0.1, port: ${gwPort} }`,
      `upstreams:\n  up:\n    targets: [{ url: "http://127.0.0.1:${upstreamPort}" }]\n    connections: 64`,
      'routes:', route('plain', '/plain', false), route('waf', '/waf', true), '',
    ].join('\n'));
    const gateway = await launch(0, node, ['bin/pinpoint.js', 'serve', '--config', config, '--data-dir', join(dir, 'data')], /gateway listening/);
    const rows: string[] = [];
    for (const [size, body] of Object.entries(bodies)) {
      const bodyFile = join(dir, `body-${size.replace(' ', '')}.json`);
      writeFileSync(bodyFile, body);
      for (const path of ['/waf', '/plain']) {
        // wrk ran with spawnSync: let the loop notice keep-alive sockets the gateway closed meanwhile.
        await new Promise((r) => setImmediate(r));
        const check = await fetch(`http://127.0.0.1:${gwPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (check.status !== 200) throw new Error(`${path} with the ${size} body answered ${check.status}: ${await check.text()}`);
      }
      const micros = await engineMicros(body);
      const results: Record<string, Result> = {};
      for (const path of ['/plain', '/waf']) {
        wrk(`http://127.0.0.1:${gwPort}${path}`, bodyFile, warmup, dir);
        results[path] = wrk(`http://127.0.0.1:${gwPort}${path}`, bodyFile, duration, dir, gateway.pid ?? 0);
        process.stdout.write(`${size} ${path}: ${results[path]!.rps.toFixed(0)} req/s, p50 ${results[path]!.p50.toFixed(2)} ms, p99 ${results[path]!.p99.toFixed(2)} ms, ${results[path]!.cpuUsPerRequest.toFixed(0)} CPU µs/request, errors ${results[path]!.errors}\n`);
      }
      const off = results['/plain']!;
      const on = results['/waf']!;
      rows.push(`| ${size} (${Buffer.byteLength(body)} B) | ${off.rps.toFixed(0)} | ${on.rps.toFixed(0)} | ${off.p99.toFixed(2)} | ${on.p99.toFixed(2)} | ${off.cpuUsPerRequest.toFixed(0)} | ${on.cpuUsPerRequest.toFixed(0)} | ${micros.toFixed(0)} |`);
    }
    const report = [
      '# WAF benchmark', '',
      `${new Date().toISOString()} · node ${process.version} · ${cpus()[0]?.model ?? 'unknown CPU'} · ${pin ? 'gateway on CPU 0, wrk + upstream on CPU 1' : 'NOT pinned'} · ${connections} connections · ${duration} s per run after ${warmup} s warm-up · load average ${loadavg()[0]!.toFixed(1)} when done`, '',
      'Same gateway and route shape (POST, JSON, 128 KB limit, call log on), without and with the WAF in block mode at paranoia 1.',
      'Bodies are benign batches of comments from the test corpus (prose, code snippets, URLs, names with apostrophes): the WAF inspects every string and passes them.',
      'Without the WAF the body streams; with it, the body is buffered, parsed and inspected, then forwarded.', '',
      '| body | req/s without WAF | req/s with WAF | p99 ms without | p99 ms with | gateway CPU µs/request without | with | WAF engine CPU µs per body (in-process mean) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows, '',
      'Gateway CPU µs/request is utime+stime of the gateway process (all threads, call-log worker included) over the measured run divided by the requests: less sensitive than req/s to other load on the machine. Produced by `node bench/waf.ts`.', '',
    ].join('\n');
    process.stdout.write(`\n${report}`);
    if (!opts['no-write']) {
      mkdirSync(join(root, 'bench/results'), { recursive: true });
      writeFileSync(join(root, 'bench/results/waf.md'), report);
    }
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => { cleanup(); process.stderr.write(`${(err as Error).stack ?? String(err)}\n`); process.exit(1); });
