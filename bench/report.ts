import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { LOAD_CPU, SUT_CPU, node, pinning } from './lib/procs.ts';
import type { WrkResult } from './lib/wrk.ts';
import type { Scenario } from './scenarios.ts';
import type { System } from './systems.ts';

// The Markdown report: one table per scenario, the targets of issue 10, diagnostics.

export interface Run {
  wrk: WrkResult;
  rps: number;
  cpuSeconds: number;
  wallSeconds: number;
  cpu0Busy: number | null;
  cpu0Steal: number | null;
  cpu1Busy: number | null;
  upstreamCpuPercent: number | null;
  /** The fixed rate asked for (latency scenario). */
  target: number | null;
}

export interface Cell {
  readonly system: System;
  readonly scenario: Scenario;
  readonly runs: Run[];
}

export interface ReportInput {
  cells: readonly Cell[];
  mode: string;
  command: string;
  notes: readonly string[];
  startedAt: Date;
  load: readonly number[];
  tools: readonly string[];
  callLogs: readonly string[];
  elapsedSeconds: number;
}

/** The median run by the scenario's metric (the lower one for an even count). */
export function median(cell: Cell): Run {
  const key = (r: Run) => (cell.scenario.metric === 'rps' ? r.rps : -r.wrk.p99);
  const sorted = [...cell.runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export const ms = (us: number) => `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
const plusMs = (us: number) => `${us >= 0 ? '+' : '−'}${(Math.abs(us) / 1000).toFixed(2)} ms`;
export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const pct = (n: number | null) => (n === null ? 'n/a' : `${Math.round(n)}%`);
const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : 'n/a');
export const perCpu = (r: Run) => (r.cpuSeconds > 0 ? r.wrk.requests / r.cpuSeconds : 0);

function find(cells: readonly Cell[], scenario: string, system: string): Run | undefined {
  const c = cells.find((x) => x.scenario.id === scenario && x.system.id === system);
  return c && c.runs.length ? median(c) : undefined;
}

function throughputTable(cells: readonly Cell[], scenario: Scenario): string {
  const rows = cells.filter((c) => c.scenario === scenario && c.runs.length);
  const bare = find(cells, scenario.id, 'bare');
  const nginx = find(cells, scenario.id, 'nginx');
  const head = ['System', 'req/s', 'vs bare', 'req per CPU-s', 'vs nginx (per CPU-s)', 'p50', 'p99', 'p99.9', 'SUT CPU', 'answers ≥ 400'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const c of rows) {
    const r = median(c);
    const w = r.wrk;
    lines.push(`| ${[
      c.system.name + (c.system.refuses ? ' ¹' : ''), int(r.rps), ratio(r.rps, bare?.rps), int(perCpu(r)), nginx ? ratio(perCpu(r), perCpu(nginx)) : 'n/a',
      ms(w.p50), ms(w.p99), ms(w.p999), pct((100 * r.cpuSeconds) / r.wallSeconds),
      w.requests ? `${((100 * w.statusErrors) / w.requests).toFixed(w.statusErrors === 0 || w.statusErrors === w.requests ? 0 : 1)}%` : 'n/a',
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

function latencyTable(cells: readonly Cell[], scenario: Scenario): string {
  const rows = cells.filter((c) => c.scenario === scenario && c.runs.length);
  const bare = find(cells, scenario.id, 'bare');
  const head = ['System', 'rate asked', 'rate done', 'p50', 'p99', 'p99.9', '+p50 vs bare', '+p99 vs bare', 'SUT CPU'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const c of rows) {
    const r = median(c);
    const w = r.wrk;
    const kept = r.target === null || r.rps >= 0.97 * r.target;
    lines.push(`| ${[
      c.system.name, r.target === null ? 'n/a' : int(r.target), `${int(r.rps)}${kept ? '' : ' (could not keep up)'}`, ms(w.p50), ms(w.p99), ms(w.p999),
      bare && c.system.id !== 'bare' ? plusMs(w.p50 - bare.wrk.p50) : '—', bare && c.system.id !== 'bare' ? plusMs(w.p99 - bare.wrk.p99) : '—',
      pct((100 * r.cpuSeconds) / r.wallSeconds),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

function targets(cells: readonly Cell[]): string[] {
  const out: string[] = [];
  const bare = find(cells, 'get', 'bare');
  const key = find(cells, 'get', 'key');
  const nginx = find(cells, 'get', 'nginx');
  const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');
  if (bare && key) {
    const r = key.rps / bare.rps;
    out.push(`- Pinpoint full chain (API key) keeps ≥ 75% of the bare proxy's requests/s: ${(100 * r).toFixed(0)}% (${int(key.rps)} vs ${int(bare.rps)}) — ${verdict(r >= 0.75)}`);
  }
  if (nginx && key) {
    const r = perCpu(key) / perCpu(nginx);
    out.push(`- Pinpoint full chain ≥ 50% of nginx's requests per CPU-second: ${(100 * r).toFixed(0)}% (${int(perCpu(key))} vs ${int(perCpu(nginx))}) — ${verdict(r >= 0.5)}`);
  }
  const hb = find(cells, 'halfsat', 'bare');
  const hk = find(cells, 'halfsat', 'key');
  if (hb && hk) {
    const added = hk.wrk.p99 - hb.wrk.p99;
    const kept = hk.target === null || hk.rps >= 0.97 * hk.target;
    out.push(`- Pinpoint full chain adds < 1 ms at p99 over the bare proxy at half the bare proxy's saturation rate (${int(hb.target ?? 0)} req/s): ${plusMs(added)} (p99 ${ms(hk.wrk.p99)} vs ${ms(hb.wrk.p99)})${kept ? '' : ', and Pinpoint could not keep that rate'} — ${verdict(added < 1000 && kept)}`);
  }
  return out;
}

function diagnostics(cells: readonly Cell[]): string {
  const head = ['Scenario', 'System', 'requests measured', 'SUT CPU', 'CPU 0 busy (all)', 'CPU 0 steal', 'CPU 1 busy (wrk + upstream + others)', 'upstream CPU', 'socket errors', 'runs (req/s)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const c of cells) {
    if (!c.runs.length) continue;
    const r = median(c);
    const w = r.wrk;
    lines.push(`| ${[
      c.scenario.id, c.system.name, int(w.requests), pct((100 * r.cpuSeconds) / r.wallSeconds), pct(r.cpu0Busy), pct(r.cpu0Steal), pct(r.cpu1Busy), pct(r.upstreamCpuPercent),
      String(w.connectErrors + w.readErrors + w.writeErrors + w.timeouts), c.runs.map((x) => int(x.rps)).join(', '),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

export function cpuModel(): string {
  const models = cpus().map((c) => c.model.trim());
  return models.length ? `${models[0]} (${models.length} CPUs visible, ${availableParallelism()} usable)` : 'unknown';
}

export function pinLine(): string {
  return pinning.enabled
    ? `Pinned with taskset: the system under test on CPU ${SUT_CPU} (taskset -c ${SUT_CPU}); wrk (1 thread) and the upstream on CPU ${LOAD_CPU} (taskset -c ${LOAD_CPU}).`
    : 'NOT pinned (fewer than 2 CPUs): every process shares the CPUs.';
}

export function report(input: ReportInput): string {
  const { cells } = input;
  const scenariosRun = [...new Set(cells.filter((c) => c.runs.length).map((c) => c.scenario))];
  const systemsRun = [...new Set(cells.filter((c) => c.runs.length).map((c) => c.system))];
  const t = targets(cells);
  return [
    '# Pinpoint benchmark',
    '',
    `- date: ${input.startedAt.toISOString()} (${Math.round(input.elapsedSeconds)} s)`,
    `- command: \`${input.command}\``,
    `- node: ${process.version} (${node})`,
    `- CPU: ${cpuModel()}; kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}; load average at start: ${input.load.map((x) => x.toFixed(2)).join(' ')}`,
    `- tools: ${input.tools.join('; ')}`,
    `- mode: ${input.mode}`,
    `- ${pinLine()}`,
    ...input.notes.map((n) => `- note: ${n}`),
    '',
    ...(t.length ? ['## Targets (issue 10)', '', ...t, ''] : []),
    ...scenariosRun.flatMap((s) => [`## ${s.title}`, '', `${s.about}.`, '', s.metric === 'p99' ? latencyTable(cells, s) : throughputTable(cells, s), '']),
    'req/s and latencies are wrk\'s. Except in the half-saturation table they are closed-loop (50 connections, at saturation): service time under full load.',
    '"req per CPU-s" is requests measured / (utime + stime of the system under test over the measured window, all threads and child processes, from /proc/<pid>/stat);',
    'it is less sensitive to other load on the machine than req/s. "vs nginx" compares it with nginx\'s in the same table.',
    '¹ every answer is a 403 refusal, counted as the work done.',
    'Half saturation: wrk (Debian has no wrk2) with a Lua `delay()` that paces requests on a fixed schedule (LuaJIT FFI clock): request k is due at k/rate, so the rate holds whatever the latency.',
    'wrk\'s timer has 1 ms resolution, so requests due within one millisecond leave together (small bursts, the same for every system); latency is measured from when each request is sent (no coordinated-omission correction).',
    '',
    '## Systems',
    '',
    ...systemsRun.map((s) => `- **${s.name}**: ${s.about}.`),
    '',
    ...(input.callLogs.length ? ['## Pinpoint call log', '', ...input.callLogs.map((l) => `- ${l}`), ''] : []),
    '## Diagnostics',
    '',
    diagnostics(cells),
    '',
    'SUT CPU near 100% means the system under test was the bottleneck; CPU 0 busy well above SUT CPU means other processes took CPU 0 during the run;',
    'CPU 1 near 100% means the load side (wrk + upstream) may have been the limit rather than the system under test. CPU 0 steal is time the hypervisor',
    'gave CPU 0 to other guests. nginx counts master + worker; Pinpoint counts its call-log worker thread.',
    '',
  ].join('\n');
}
