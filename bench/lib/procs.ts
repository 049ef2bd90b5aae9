import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

// Child processes of the benchmark: started pinned (taskset), watched, and all killed at the
// end, on error and on Ctrl-C. Also the CPU accounting read from /proc.

export class BenchAbort extends Error {}

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const node = process.execPath;
export const SUT_CPU = 0;
export const LOAD_CPU = 1;

export const pinning = { enabled: true };

export interface Proc {
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
export const scratch = new Set<string>();

export function killAll(): void {
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
export function launch(name: string, cpu: number | string | null, command: string, args: readonly string[], env: Record<string, string> = {}): Proc {
  const argv = cpu === null || !pinning.enabled ? [command, ...args] : ['taskset', '-c', String(cpu), command, ...args];
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

/** SIGTERM (SIGQUIT for nginx: a graceful stop), a grace period, then SIGKILL. */
export async function stop(proc: Proc, graceMs = 8_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== undefined) return;
  proc.child.kill(signal);
  const timer = new Promise<'timeout'>((resolve) => { const t = setTimeout(() => resolve('timeout'), graceMs); t.unref(); });
  if (await Promise.race([proc.exited.then(() => 'exited' as const), timer]) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
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
export async function waitReady(proc: Proc, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== undefined) throw new BenchAbort(`${proc.name} exited (code ${proc.exitCode}) before listening on port ${port}:\n${tail(proc.stderr || proc.stdout)}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new BenchAbort(`${proc.name} did not listen on port ${port} within ${timeoutMs / 1000} s:\n${tail(proc.stderr || proc.stdout)}`);
}

export const tail = (s: string, n = 20) => s.trim().split('\n').slice(-n).map((l) => `    ${l}`).join('\n') || '    (no output)';

// ---------------------------------------------------------------- CPU accounting

let clockTicks = 100;
export function setClockTicks(n: number): void { clockTicks = n; }
export function ticksPerSecond(): number { return clockTicks; }

/** utime + stime of one process (all its threads), in seconds. */
export function pidCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state) of proc(5): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** The pids of a process's children (nginx's worker, for one). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a process and its direct children (all threads). */
export function processCpuSeconds(proc: Proc): number {
  const own = pidCpuSeconds(proc.pid);
  if (own === null) throw new BenchAbort(`${proc.name} (pid ${proc.pid}) died during the run:\n${tail(proc.stderr || proc.stdout)}`);
  return childPids(proc.pid).reduce((sum, pid) => sum + (pidCpuSeconds(pid) ?? 0), own);
}

interface CpuLine { busy: number; steal: number; total: number }

/** Per-CPU busy and total jiffies from /proc/stat (busy excludes idle, iowait and steal). */
export function cpuTimes(): Map<number, CpuLine> {
  const out = new Map<number, CpuLine>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[2]!.trim().split(/\s+/).map(Number);
    out.set(Number(m[1]), { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal });
  }
  return out;
}

export function busyPercent(before: Map<number, CpuLine>, after: Map<number, CpuLine>, cpu: number): number | null {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return null;
  return (100 * (b.busy - a.busy)) / (b.total - a.total);
}

/** Time the hypervisor gave this CPU to someone else: a noisy-neighbour signal. */
export function stealPercent(before: Map<number, CpuLine>, after: Map<number, CpuLine>, cpu: number): number | null {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return null;
  return (100 * (b.steal - a.steal)) / (b.total - a.total);
}
