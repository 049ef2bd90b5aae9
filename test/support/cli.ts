import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const binPath = fileURLToPath(new URL('../../bin/pinpoint.js', import.meta.url));

export interface CliResult { readonly status: number | null; readonly stdout: string; readonly stderr: string }

/** Runs the real `pinpoint` command, as a user would. */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [binPath, ...args], { encoding: 'utf8', env: { ...process.env, ...options.env }, cwd: options.cwd, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port P such that P, P+1, P+2 and P+443 are free (the demo's gateway, admin, echo and vault offsets). */
export async function freePortBlock(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2)) && (await portFree(base + 443))) return base;
  }
  throw new Error('no free port block found');
}

export interface RunningServer { readonly child: ChildProcess; output(): string; stop(): Promise<number | null> }

/** Starts a long-running verb (demo, serve) and resolves once `ready` appears in its output. */
export async function startCli(args: readonly string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, [binPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 20 s:\n${out}`)), 20_000);
    const check = () => { if (ready.test(out)) { clearTimeout(timer); resolve(); } };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before ready:\n${out}`)); });
  });
  return {
    child,
    output: () => out,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(child.exitCode); return; }
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

export interface RunningDemo {
  readonly port: number;
  /** http://127.0.0.1:PORT, the gateway. */
  readonly gateway: string;
  /** http://127.0.0.1:PORT+1, the admin API and console. */
  readonly admin: string;
  readonly dataDir: string;
  /** Stops it (SIGTERM), removes its data directory and resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts the demo exactly as `npm start` does, in a fresh data directory on a free port block. */
export async function startDemo(dataDirPrefix: string): Promise<RunningDemo> {
  const dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  const port = await freePortBlock();
  const server = await startCli(['demo', '--port', String(port), '--data-dir', dataDir], /Try:/);
  return {
    port, gateway: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${port + 1}`, dataDir,
    async stop() {
      const code = await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
