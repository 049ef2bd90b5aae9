import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTools } from './lib/install.ts';
import { BenchAbort, LOAD_CPU, SUT_CPU, freePort, killAll, launch, node, processCpuSeconds, root, scratch, stop, tail, waitReady, type Proc } from './lib/procs.ts';
import { runWrk, type Load } from './lib/wrk.ts';
import { scenarios } from './scenarios.ts';
import { systems, writeKeyMaterial, type Env } from './systems.ts';

// Profiles Pinpoint under load: `npm run bench:profile` (node bench/profile.ts). Starts the
// upstream (CPU 1) and `pinpoint serve --config <full chain + 10k keys>` with --cpu-prof
// (CPU 0), drives one scenario with wrk, stops Pinpoint (the profile is written on exit) and
// summarises the self time of the main thread into bench/results/profile.md.

const usage = `node bench/profile.ts [--seconds 10] [--scenario get|keys10k|refuse50|post1k] [--system key|public|jwt] [--top 30]`;

interface Frame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: Frame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Where a function lives, short: src/... for Pinpoint, node:... for the runtime, the package for node_modules. */
function place(url: string): string {
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  return relative(root, path);
}

function category(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native / V8 builtins)';
  const p = place(url);
  if (p.startsWith('src/')) return p.split('/').slice(0, 2).join('/');
  if (p.startsWith('node:')) return p.split('/').slice(0, 2).join('/').replace(/^node:internal\/(\w+).*/, 'node:internal/$1');
  if (!p.startsWith('.') && !p.startsWith('/')) return p.split('/')[0]!.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!;
  return p;
}

/**
 * Self time per function over [fromUs, toUs] (V8's monotonic clock, the same as
 * process.hrtime on Linux), so start-up (config parsing, module compilation) is left out.
 */
export function summarise(profile: CpuProfile, top: number, fromUs = -Infinity, toUs = Infinity): { total: number; functions: string; categories: string } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const fn = new Map<string, number>();
  const cat = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    const key = `${f.functionName || '(anonymous)'} | ${place(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const c = category(f.url, f.functionName);
    cat.set(c, (cat.get(c) ?? 0) + t);
  }
  const busy = total - idle;
  const row = (k: string, t: number) => `| ${k.replaceAll('|', '\\|').replace(' \\| ', ' | ')} | ${(t / 1000).toFixed(0)} ms | ${((100 * t) / busy).toFixed(1)}% |`;
  const functions = ['| function | where | self | % of busy |', '| --- | --- | ---: | ---: |',
    ...[...fn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => row(k, t))].join('\n');
  const categories = ['| module | self | % of busy |', '| --- | ---: | ---: |',
    ...[...cat].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `| ${k} | ${(t / 1000).toFixed(0)} ms | ${((100 * t) / busy).toFixed(1)}% |`)].join('\n');
  return { total: busy, functions, categories };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    seconds: { type: 'string', default: '10' }, scenario: { type: 'string', default: 'get' }, system: { type: 'string', default: 'key' }, top: { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) { process.stdout.write(`${usage}\n`); return; }
  const scenario = scenarios.find((s) => s.id === values.scenario);
  const system = systems.find((s) => s.id === values.system && s.server.startsWith('pinpoint'));
  if (!scenario || scenario.id === 'halfsat') throw new BenchAbort(`--scenario: one of ${scenarios.filter((s) => s.id !== 'halfsat').map((s) => s.id).join(', ')}`);
  if (!system) throw new BenchAbort('--system: key, jwt, public or refusal');
  const seconds = Number(values.seconds);
  ensureTools(['wrk'], (l) => process.stdout.write(`bench: ${l}\n`));

  const tmp = mkdtempSync(join(tmpdir(), 'pinpoint-profile-'));
  scratch.add(tmp);
  const profDir = join(tmp, 'prof');
  let upstream: Proc | null = null;
  let sut: Proc | null = null;
  try {
    const upstreamPort = await freePort();
    upstream = launch('upstream', LOAD_CPU, node, ['bench/upstream.ts', '--port', String(upstreamPort)]);
    await waitReady(upstream, upstreamPort);
    const tokenRun = await import('node:child_process').then((cp) => cp.spawnSync(node, ['bin/pinpoint.js', 'token', '--sub', 'bench', '--scope', 'orders:read', '--ttl', '3600'], { cwd: root, encoding: 'utf8' }));
    const env: Env = { tmp, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, token: tokenRun.stdout.trim(), ...writeKeyMaterial(tmp) };
    const port = await freePort();
    const dataDir = join(tmp, 'data');
    mkdirSync(dataDir);
    const config = system.server === 'pinpoint-public' ? 'bench/configs/public.yaml' : env.fullChainConfig;
    sut = launch('pinpoint --cpu-prof', SUT_CPU, node, ['--cpu-prof', '--cpu-prof-dir', profDir, 'bin/pinpoint.js', 'serve', '--config', config, '--data-dir', dataDir, '--port', String(port)], { BENCH_UPSTREAM_URL: env.upstreamUrl });
    await waitReady(sut, port);
    const load = scenario.load(system, env, `http://127.0.0.1:${port}`, { bareRps: null }) as Load;
    process.stdout.write(`profiling ${system.name}, scenario ${scenario.id}: 2 s warm-up, ${seconds} s under wrk (CPU ${LOAD_CPU}), Pinpoint on CPU ${SUT_CPU}\n`);
    await runWrk(load, 2, 50, 1, join(tmp, 'w.lua'));
    const cpu0 = processCpuSeconds(sut);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const wrk = await runWrk(load, seconds, 50, 1, join(tmp, 'p.lua'));
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const cpu = processCpuSeconds(sut) - cpu0;
    const rps = wrk.requests / (wrk.durationUs / 1e6);
    process.stdout.write(`  ${Math.round(rps)} req/s, ${Math.round(wrk.requests / cpu)} req per CPU-s, ${wrk.statusErrors} answers >= 400\n`);
    await stop(sut, 15_000);
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
    if (files.length === 0) throw new BenchAbort(`no .cpuprofile written by Pinpoint:\n${tail(sut.stderr)}`);
    // The main thread's profile is the largest one (the call-log worker writes its own).
    files.sort((a, b) => statSync(b).size - statSync(a).size);
    const summaries = files.slice(0, 2).map((f) => summarise(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile, Number(values.top), fromUs, toUs));
    const main = summaries[0]!;
    const md = [
      '# Pinpoint CPU profile under load',
      '',
      `- ${new Date().toISOString()}, node ${process.version}; command: \`node bench/profile.ts ${process.argv.slice(2).join(' ')}\``,
      `- system: ${system.name}; scenario: ${scenario.title} (wrk 1 thread, 50 connections, ${seconds} s after 2 s warm-up)`,
      `- Pinpoint on CPU ${SUT_CPU} with \`node --cpu-prof\`; wrk and the upstream on CPU ${LOAD_CPU}`,
      `- measured: ${Math.round(rps)} req/s, ${Math.round(wrk.requests / cpu)} requests per CPU-second (the profiler itself costs some)`,
      `- main thread busy (sampled, not idle) during the ${seconds} s measured: ${(main.total / 1e6).toFixed(2)} s, i.e. ~${(main.total / wrk.requests).toFixed(1)} µs per request`,
      '',
      '## Self time by module (main thread)',
      '',
      main.categories,
      '',
      '## Top functions by self time (main thread)',
      '',
      main.functions,
      '',
      ...(summaries[1] ? ['## Call-log worker thread: top functions', '', summaries[1].functions.split('\n').slice(0, 12).join('\n'), ''] : []),
    ].join('\n');
    process.stdout.write(`\n${md}\n`);
    const out = join(root, 'bench/results/profile.md');
    writeFileSync(out, md);
    process.stdout.write(`written to ${out}\n`);
  } finally {
    if (sut) await stop(sut);
    if (upstream) await stop(upstream);
    killAll();
  }
}

main().catch((err: unknown) => {
  killAll();
  process.stderr.write(`\nprofile: ${err instanceof BenchAbort ? err.message : (err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
