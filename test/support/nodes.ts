import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { binPath, startCli, type CliResult, type RunningServer } from './cli.ts';

/** One `pinpoint serve` process of a test cluster, with its own data directory and config file. */
export interface GatewayNode {
  readonly url: string;
  readonly server: RunningServer;
  readonly configFile: string;
  writeConfig(config: object): void;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export async function startNode(config: object, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<GatewayNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-node-'));
  const configFile = join(dataDir, 'pinpoint.yaml');
  const writeConfig = (c: object) => writeFileSync(configFile, stringify(c));
  writeConfig(config);
  let server: RunningServer;
  try {
    server = await startCli(['serve', '--config', configFile, '--data-dir', dataDir, '--port', '0', ...args], /gateway listening on http:\/\/\S+/, { PINPOINT_LOG_LEVEL: 'info', ...env });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = /gateway listening on (http:\/\/[^\s)"]+)/.exec(server.output())![1]!;
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  return {
    url, server, configFile, writeConfig,
    async stop() { await server.stop(); cleanup(); },
    async kill() {
      if (server.child.exitCode === null) {
        const exited = new Promise((r) => server.child.once('exit', r));
        server.child.kill('SIGKILL');
        await exited;
      }
      cleanup();
    },
  };
}

/** Sends `total` requests with `concurrency` in flight, spread round-robin over the urls. */
export async function load(urls: readonly string[], path: string, total: number, concurrency: number, headers: Record<string, string> = {}): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await fetch(urls[i % urls.length]! + path, { headers });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 5000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The real `pinpoint` command, without blocking this process: a spawnSync of several
 * seconds would stall the test's event loop past the gateway's keep-alive timeout, and the
 * next request would be written on a socket the server has already closed.
 */
export function runCliAsync(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A port P with P..P+2 free, below Linux's ephemeral range (32768+), where outgoing
 * connections of other tests could take it between this check and the listen.
 */
export async function freeDemoPorts(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2))) return base;
  }
  throw new Error('no free port block found');
}
