import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTools } from './lib/install.ts';
import { BenchAbort, LOAD_CPU, SUT_CPU, freePort, killAll, launch, node, processCpuSeconds, root, scratch, setClockTicks, stop, tail, ticksPerSecond, waitReady, type Proc } from './lib/procs.ts';
import { runWrk, type Load } from './lib/wrk.ts';
import { summarise, type CpuProfile } from './lib/cpu-profile.ts';
import { scenarios } from './scenarios.ts';
import { systems, writeKeyMaterial, type Env } from './systems.ts';

// Profiles Pinpoint under load: `npm run bench:profile` (node bench/profile.ts). Starts the
// upstream (CPU 1) and `pinpoint serve --config <full chain + 10k keys>` with --cpu-prof
// (CPU 0), drives one scenario with wrk, stops Pinpoint (the profile is written on exit) and
// summarises the self time of the main thread into bench/results/profile.md.

const usage = `node bench/profile.ts [--seconds 10] [--scenario get|keys10k|refuse50|post1k] [--system key|public|jwt|refusal|bare] [--top 30]
  writes bench/results/profile.md (key, get) or profile-<system>-<scenario>.md`;

/** CPU seconds of every thread of a process, by thread id, with the thread's name. */
function threadCpu(pid: number): Map<number, { name: string; s: number }> {
  const out = new Map<number, { name: string; s: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, s: (Number(f[11]) + Number(f[12])) / ticksPerSecond() });
    } catch { /* the thread ended */ }
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    seconds: { type: 'string', default: '10' }, scenario: { type: 'string', default: 'get' }, system: { type: 'string', default: 'key' }, top: { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) { process.stdout.write(`${usage}\n`); return; }
  const scenario = scenarios.find((s) => s.id === values.scenario);
  const system = systems.find((s) => s.id === values.system && (s.server.startsWith('pinpoint') || s.id === 'bare'));
  if (!scenario || scenario.id === 'halfsat') throw new BenchAbort(`--scenario: one of ${scenarios.filter((s) => s.id !== 'halfsat').map((s) => s.id).join(', ')}`);
  if (!system) throw new BenchAbort('--system: key, jwt, public, refusal, or bare (the floor, to compare with)');
  const seconds = Number(values.seconds);
  ensureTools(['wrk'], (l) => process.stdout.write(`bench: ${l}\n`));
  const tck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
  if (Number.isInteger(tck) && tck > 0) setClockTicks(tck);

  const tmp = mkdtempSync(join(tmpdir(), 'pinpoint-profile-'));
  scratch.add(tmp);
  const profDir = join(tmp, 'prof');
  let upstream: Proc | null = null;
  let sut: Proc | null = null;
  try {
    const upstreamPort = await freePort();
    upstream = launch('upstream', LOAD_CPU, node, ['bench/upstream.ts', '--port', String(upstreamPort)]);
    await waitReady(upstream, upstreamPort);
    const tokenRun = spawnSync(node, ['bin/pinpoint.js', 'token', '--sub', 'bench', '--scope', 'orders:read', '--ttl', '3600'], { cwd: root, encoding: 'utf8' });
    const env: Env = { tmp, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, token: tokenRun.stdout.trim(), expiredToken: '', otherScopeToken: '', ...writeKeyMaterial(tmp) };
    const port = await freePort();
    const dataDir = join(tmp, 'data');
    mkdirSync(dataDir);
    const config = system.server === 'pinpoint-public' ? 'bench/configs/public.yaml' : env.fullChainConfig;
    const args = system.id === 'bare'
      ? ['bench/bare-proxy.ts', '--port', String(port), '--upstream', env.upstreamUrl]
      : ['bin/pinpoint.js', 'serve', '--config', config, '--data-dir', dataDir, '--port', String(port)];
    sut = launch(`${system.id} --cpu-prof`, SUT_CPU, node, ['--cpu-prof', '--cpu-prof-dir', profDir, ...args], { BENCH_UPSTREAM_URL: env.upstreamUrl });
    await waitReady(sut, port);
    const load = scenario.load(system, env, `http://127.0.0.1:${port}`, { bareRps: null }) as Load;
    process.stdout.write(`profiling ${system.name}, scenario ${scenario.id}: 2 s warm-up, ${seconds} s under wrk (CPU ${LOAD_CPU}), Pinpoint on CPU ${SUT_CPU}\n`);
    await runWrk(load, 2, 50, 1, join(tmp, 'w.lua'));
    const threads0 = threadCpu(sut.pid);
    const cpu0 = processCpuSeconds(sut);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const wrk = await runWrk(load, seconds, 50, 1, join(tmp, 'p.lua'));
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const cpu = processCpuSeconds(sut) - cpu0;
    const threads1 = threadCpu(sut.pid);
    const perThread = [...threads1].map(([tid, t]) => ({ name: t.name, tid, s: t.s - (threads0.get(tid)?.s ?? 0) })).filter((t) => t.s > 0.005).sort((a, b) => b.s - a.s);
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
      '## CPU by thread (utime + stime from /proc/<pid>/task, measured window, no profiler attribution)',
      '',
      '| thread | CPU s | µs per request | share |',
      '| --- | ---: | ---: | ---: |',
      ...perThread.map((t) => `| ${t.name} (tid ${t.tid}) | ${t.s.toFixed(2)} | ${((1e6 * t.s) / wrk.requests).toFixed(1)} | ${((100 * t.s) / cpu).toFixed(0)}% |`),
      '',
      'The sampled profiles below are wall-clock samples: a thread descheduled while the other one runs on the same CPU',
      'is charged to the function it was in (postMessage on the main thread is mostly the log worker running after being woken).',
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
    const out = join(root, `bench/results/profile${system.id === 'key' && scenario.id === 'get' ? '' : `-${system.id}-${scenario.id}`}.md`);
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
