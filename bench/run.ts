import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { callsMade } from './lib/checks.ts';
import { ensureTools, have, version } from './lib/install.ts';
import {
  BenchAbort, LOAD_CPU, SUT_CPU, busyPercent, cpuTimes, freePort, killAll, launch, node, pinning, processCpuSeconds, root, scratch, setClockTicks, sleep, stealPercent, stop, tail, waitReady, type Proc,
} from './lib/procs.ts';
import { runWrk } from './lib/wrk.ts';
import { cpuModel, int, median, ms, pct, pinLine, report, type Cell, type Run } from './report.ts';
import { scenarios } from './scenarios.ts';
import { checkConfigs, servers, systems, writeKeyMaterial, type Env, type ServerSpec } from './systems.ts';

// The Pinpoint benchmark: `npm run bench` (full) or `npm run bench -- --short`. See bench/README.md.
// Every system under test runs on CPU 0 (taskset), wrk and the shared upstream on CPU 1.
// All servers start first and are checked to enforce their policy; then each scenario runs
// its systems one after the other; every child process is killed at the end, even on error.

const usage = `npm run bench [-- options]     (node bench/run.ts [options])
  --short             quick look: 1 s warm-up, 2 s measured per table cell (also BENCH_SHORT=1); ~3 min
  --duration S        seconds measured per cell (default 8; 2 with --short)
  --warmup S          warm-up before a system's first cell, not measured (default 3; 1 with --short);
                      1 s before each later cell
  --connections N     wrk connections (default 50)
  --rounds N          N measured runs per cell, interleaved (every system stays up, the order rotates
                      each round); the median is reported. Better on a noisy machine (default 1)
  --only a,b          only these systems: ${systems.map((s) => s.id).join(', ')}
  --scenarios a,b     only these scenarios: ${scenarios.map((s) => s.id).join(', ')}
  --out NAME          write bench/results/NAME.{md,json} (default latest)
  --no-write          print the report but do not write bench/results/latest.{md,json}`;

interface Options {
  short: boolean;
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  only: Set<string> | null;
  scenarios: Set<string> | null;
  write: boolean;
  out: string;
}

const THREADS = 1;

function readOptions(): Options {
  const { values } = parseArgs({ options: {
    short: { type: 'boolean', default: false }, duration: { type: 'string' }, warmup: { type: 'string' },
    connections: { type: 'string' }, rounds: { type: 'string' }, only: { type: 'string' }, scenarios: { type: 'string' },
    out: { type: 'string', default: 'latest' }, 'no-write': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) { process.stdout.write(`${usage}\n`); process.exit(0); }
  const short = values.short || ['1', 'true', 'yes'].includes((process.env.BENCH_SHORT ?? '').toLowerCase());
  const int = (name: string, v: string | undefined, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new BenchAbort(`--${name} must be a whole number >= ${min}, got "${v}"`);
    return n;
  };
  const list = (name: string, v: string | undefined, known: readonly { id: string }[]): Set<string> | null => {
    if (!v) return null;
    const set = new Set(v.split(',').map((s) => s.trim()).filter(Boolean));
    for (const id of set) if (!known.some((k) => k.id === id)) throw new BenchAbort(`--${name}: unknown "${id}" (known: ${known.map((k) => k.id).join(', ')})`);
    return set;
  };
  return {
    short,
    duration: int('duration', values.duration, short ? 2 : 8, 1),
    warmup: int('warmup', values.warmup, short ? 1 : 3, 0),
    connections: int('connections', values.connections, 50, 1),
    rounds: int('rounds', values.rounds, 1, 1),
    only: list('only', values.only, systems),
    scenarios: list('scenarios', values.scenarios, scenarios),
    write: !values['no-write'],
    out: /^[\w.-]+$/.test(values.out) ? values.out : (() => { throw new BenchAbort(`--out: a file name without a directory, got "${values.out}"`); })(),
  };
}

function checkPlatform(): string[] {
  const notes: string[] = [];
  if (process.platform !== 'linux') throw new BenchAbort('the benchmark reads /proc and uses taskset: it runs on Linux only');
  if (!have('taskset')) throw new BenchAbort('taskset is missing (Debian package util-linux): `apt-get install -y util-linux`');
  const n = availableParallelism();
  if (n < 2) {
    pinning.enabled = false;
    notes.push(`only ${n} CPU available: NOT pinned, the system under test, wrk and the upstream share one CPU`);
  } else if (n > 2) {
    notes.push(`${n} CPUs available; only CPUs ${SUT_CPU} and ${LOAD_CPU} are used`);
  }
  const tck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
  if (Number.isInteger(tck) && tck > 0) setClockTicks(tck);
  return notes;
}

function canBindIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

function mintToken(scope: string, ttl = 7200): string {
  const r = spawnSync(node, ['bin/pinpoint.js', 'token', '--sub', 'bench', '--scope', scope, '--ttl', String(ttl)], { cwd: root, encoding: 'utf8' });
  const token = r.stdout.trim();
  if (r.status !== 0 || token.split('.').length !== 3) throw new BenchAbort(`\`pinpoint token\` failed (exit ${r.status}):\n${tail(r.stderr)}`);
  return token;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------- servers

interface Running {
  readonly spec: ServerSpec;
  readonly proc: Proc;
  readonly base: string;
  readonly base6: string;
  readonly dataDir: string | null;
  /** Requests it answered: the checks, then every wrk run (warm-ups included). */
  answered: number;
}

async function startServer(spec: ServerSpec, env: Env): Promise<Running> {
  const port = await freePort();
  const port6 = await freePort();
  await spec.prepare?.(env);
  const proc = spec.start(env, port, port6);
  await waitReady(proc, port);
  return { spec, proc, base: `${spec.https ? 'https' : 'http'}://127.0.0.1:${port}`, base6: `http://[::1]:${port6}`, dataDir: spec.pinpoint ? join(env.tmp, `data-${spec.id}`) : null, answered: 0 };
}

/**
 * Rows in Pinpoint's call log once it has stopped, against the requests it answered (the
 * checks and every wrk run; wrk does not count the requests in flight when it stops, so a
 * few more rows than answers is normal). Fewer rows means records were dropped or lost.
 */
function callLogCount(r: Running): string {
  try {
    const db = new DatabaseSync(join(r.dataDir!, 'pinpoint.db'), { readOnly: true });
    try {
      const rows = (db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n;
      const dropped = (db.prepare("SELECT value FROM log_stats WHERE name = 'dropped_records'").get() as { value: number } | undefined)?.value ?? 0;
      const missing = r.answered - rows;
      return `${r.spec.id}: ${int(rows)} rows for ${int(r.answered)} requests answered${dropped ? `, ${int(dropped)} dropped (counted)` : ''}${missing > 100 ? ` — ${int(missing)} MISSING` : ' — the log kept up'}`;
    } finally {
      db.close();
    }
  } catch (err) {
    return `${r.spec.id}: unreadable (${(err as Error).message})`;
  }
}

// ---------------------------------------------------------------- measuring

async function measure(cell: Cell, server: Running, upstream: Proc, env: Env, opts: Options, warmup: number, bareRps: number | null, script: string): Promise<void> {
  const load = cell.scenario.load(cell.system, env, server.base, { bareRps });
  if (!load) { say(`    skipped: needs the bare proxy's small-GET result`); return; }
  if (warmup > 0) server.answered += (await runWrk(load, warmup, opts.connections, THREADS, script)).requests;
  const cpuBefore = cpuTimes();
  const sutBefore = processCpuSeconds(server.proc);
  const upBefore = cell.system.id === 'direct' ? null : processCpuSeconds(upstream);
  const t0 = performance.now();
  const wrk = await runWrk(load, opts.duration, opts.connections, THREADS, script);
  const wallSeconds = (performance.now() - t0) / 1000;
  const sutAfter = processCpuSeconds(server.proc);
  const upAfter = upBefore === null ? null : processCpuSeconds(upstream);
  const cpuAfter = cpuTimes();
  await sleep(20);
  if (server.proc.exitCode !== undefined) throw new BenchAbort(`${server.proc.name} exited during the run (code ${server.proc.exitCode}):\n${tail(server.proc.stderr || server.proc.stdout)}`);
  const rps = wrk.requests / (wrk.durationUs / 1e6);
  server.answered += wrk.requests;
  const run: Run = {
    wrk, rps, cpuSeconds: sutAfter - sutBefore, wallSeconds, target: load.rate ?? null,
    cpu0Busy: busyPercent(cpuBefore, cpuAfter, SUT_CPU), cpu0Steal: stealPercent(cpuBefore, cpuAfter, SUT_CPU), cpu1Busy: busyPercent(cpuBefore, cpuAfter, LOAD_CPU),
    upstreamCpuPercent: upBefore === null || upAfter === null ? null : (100 * (upAfter - upBefore)) / wallSeconds,
  };
  cell.runs.push(run);
  say(`    ${int(rps)} req/s${load.rate ? ` (asked ${int(load.rate)})` : ''}, p50 ${ms(wrk.p50)}, p99 ${ms(wrk.p99)}, p99.9 ${ms(wrk.p999)}, SUT CPU ${pct((100 * run.cpuSeconds) / wallSeconds)}, ${int(run.cpuSeconds > 0 ? wrk.requests / run.cpuSeconds : 0)} req per CPU-s`);
  const expectRefused = cell.system.refuses ? wrk.requests : cell.scenario.id === 'refuse50' ? wrk.requests / 2 : 0;
  if (Math.abs(wrk.statusErrors - expectRefused) > Math.max(2, wrk.requests * 0.01)) {
    say(`    WARNING: ${int(wrk.statusErrors)} of ${int(wrk.requests)} answers were >= 400 (expected ${cell.system.refuses ? 'all' : expectRefused ? 'half' : 'none'})`);
  }
  const bad = wrk.connectErrors + wrk.readErrors + wrk.writeErrors + wrk.timeouts;
  if (bad > 0) say(`    WARNING: socket errors: connect ${wrk.connectErrors}, read ${wrk.readErrors}, write ${wrk.writeErrors}, timeouts ${wrk.timeouts}`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  let opts: Options;
  try { opts = readOptions(); } catch (err) {
    if (err instanceof BenchAbort) { process.stderr.write(`bench: ${err.message}\n${usage}\n`); return 2; }
    throw err;
  }
  const startedAt = new Date();
  const t0 = performance.now();
  const load = loadavg();
  const notes = checkPlatform();
  const chosenScenarios = scenarios.filter((s) => !opts.scenarios || opts.scenarios.has(s.id));
  const chosenSystems = systems.filter((s) => (!opts.only || opts.only.has(s.id)) && chosenScenarios.some((sc) => sc.systems.includes(s.id)));
  const specs = servers.filter((sp) => chosenSystems.some((s) => s.server === sp.id));
  if (chosenSystems.some((s) => s.id === 'workers')) {
    notes.push(`the --workers 2 row is pinned to CPUs ${SUT_CPU} and ${LOAD_CPU} (taskset -c ${SUT_CPU},${LOAD_CPU}), so it shares CPU ${LOAD_CPU} with wrk and the upstream: read its req/s as what 2 workers give on this 2-core machine with the load generator on it, not as 2-core scaling; its SUT CPU is out of 200% and its req per CPU-s compares with the one-process row`);
  }
  const cells: Cell[] = chosenScenarios.flatMap((scenario) => chosenSystems.filter((s) => scenario.systems.includes(s.id)).map((system) => ({ system, scenario, runs: [] })));
  if (cells.length === 0) throw new BenchAbort('nothing to run: no chosen system is in a chosen scenario');

  const estimate = chosenSystems.length * opts.warmup + cells.length * opts.rounds * (opts.duration + 1) + specs.length * 2;
  say(`Pinpoint benchmark (${opts.short ? 'short' : 'full'} mode): ${chosenSystems.length} systems, ${chosenScenarios.length} scenarios, ${cells.length} table cells × ${opts.rounds} round(s), ${opts.duration} s measured each; about ${Math.ceil(estimate / 60)} min`);
  say(pinLine());
  for (const n of notes) say(`Note: ${n}`);
  say(`node ${process.version}, ${cpuModel()}, load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
  if (load[0]! > 0.5) say(`Note: the machine is not idle (load ${load[0]!.toFixed(2)}): numbers will be noisy; compare rows of this run, prefer ratios and req per CPU-s`);

  if (specs.some((s) => s.peer) && !(await canBindIpv6Loopback())) {
    throw new BenchAbort('the peers (nginx, HAProxy, fast-gateway) are checked to refuse a client outside their allow-list through a second listener on [::1], and [::1] cannot be bound here (IPv6 disabled?); enable IPv6 loopback or leave the peers out: --only direct,bare,public,key,jwt,refusal');
  }
  const needed = ['wrk', ...new Set(specs.flatMap((s) => s.needs ?? []))];
  ensureTools(needed, (l) => say(`bench: ${l}`));
  const tools = needed.map((t) => `${t}: ${version(t)}`);
  say(tools.join('; '));
  checkConfigs();

  const tmp = mkdtempSync(join(tmpdir(), 'pinpoint-bench-'));
  scratch.add(tmp);
  let upstream: Proc | null = null;
  const running = new Map<string, Running>();
  try {
    const upstreamPort = await freePort();
    upstream = launch('upstream', LOAD_CPU, node, ['bench/upstream.ts', '--port', String(upstreamPort)]);
    await waitReady(upstream, upstreamPort);
    const env: Env = { tmp, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, token: mintToken('orders:read'), expiredToken: mintToken('orders:read', -120), otherScopeToken: mintToken('reports:read'), ...writeKeyMaterial(tmp) };
    say(`upstream: bench/upstream.ts on ${env.upstreamUrl} (pid ${upstream.pid}, CPU ${LOAD_CPU})`);

    say('\nstarting and checking every system (a system that does not enforce its policy stops the run):');
    for (const spec of specs) {
      const r = await startServer(spec, env);
      running.set(spec.id, r);
      for (const system of chosenSystems.filter((s) => s.server === spec.id)) {
        const before = callsMade.get(r.base) ?? 0;
        const lines = await system.verify(env, r.base, r.base6);
        say(`  ${system.name} (${spec.id}, pid ${r.proc.pid}, CPU ${spec.cpus ?? SUT_CPU}): ok`);
        for (const l of lines) say(`      ${l}`);
        r.answered += (callsMade.get(r.base) ?? 0) - before;
      }
    }

    const warmed = new Set<string>();
    let bareRps: number | null = null;
    let done = 0;
    for (let round = 1; round <= opts.rounds; round++) {
      if (opts.rounds > 1) say(`\n===== round ${round}/${opts.rounds}`);
      for (const scenario of chosenScenarios) {
        const row = cells.filter((c) => c.scenario === scenario);
        if (row.length === 0) continue;
        say(`\n== ${scenario.title}`);
        // Rotated each round, so no system always runs first or after the same neighbour.
        for (let i = 0; i < row.length; i++) {
          const cell = row[(i + round - 1) % row.length]!;
          const server = running.get(cell.system.server)!;
          const warmup = warmed.has(cell.system.id) ? Math.min(1, opts.warmup) : opts.warmup;
          warmed.add(cell.system.id);
          done++;
          say(`  [${done}/${cells.length * opts.rounds}] ${cell.system.name}: ${warmup ? `${warmup} s warm-up + ` : ''}${opts.duration} s`);
          await measure(cell, server, upstream, env, opts, warmup, bareRps, join(tmp, `${cell.scenario.id}-${cell.system.id}.lua`));
          if (scenario.id === 'get' && cell.system.id === 'bare' && cell.runs.length) bareRps = median(cell).rps;
        }
      }
    }

    say('\nstopping the systems (Pinpoint flushes its call log) ...');
    const callLogs: string[] = [];
    for (const r of running.values()) {
      await stop(r.proc, 10_000, r.spec.stopSignal);
      if (r.dataDir) callLogs.push(callLogCount(r));
    }
    const args = process.argv.slice(2).join(' ');
    const md = report({
      cells, mode: `${opts.short ? 'short' : 'full'}; wrk ${THREADS} thread, ${opts.connections} connections; ${opts.warmup} s warm-up before a system's first cell, 1 s before the others; ${opts.duration} s measured${opts.rounds > 1 ? `; median of ${opts.rounds} interleaved rounds` : ''}`,
      command: `npm run bench${args ? ` -- ${args}` : ''}`, notes, startedAt, load, tools, callLogs, elapsedSeconds: (performance.now() - t0) / 1000,
    });
    say(`\n${md}`);
    if (opts.write) {
      const dir = join(root, 'bench/results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${opts.out}.md`), md);
      const raw = cells.map((c) => ({ scenario: c.scenario.id, system: c.system.id, runs: c.runs }));
      writeFileSync(join(dir, `${opts.out}.json`), `${JSON.stringify({ startedAt, args, cpu: cpuModel(), node: process.version, tools, notes, load, cells: raw }, null, 1)}\n`);
      say(`written to ${join(dir, `${opts.out}.md`)} and ${opts.out}.json (raw runs)`);
    }
    return 0;
  } finally {
    for (const r of running.values()) await stop(r.proc, 10_000, r.spec.stopSignal);
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

