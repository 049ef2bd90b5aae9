import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'undici';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startGateway, type Gateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { hashApiKey } from '../../src/credentials/directory.ts';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly databaseFile: string;
  /** Rewrites the config file (object -> YAML) and reloads synchronously. */
  rewrite(config: object | string): ReturnType<Gateway['reload']>;
  close(): Promise<void>;
}

export async function startTestGateway(config: object | string): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pinpoint-test-'));
  const configFile = join(dataDir, 'pinpoint.yaml');
  const databaseFile = join(dataDir, 'pinpoint.db');
  const write = (c: object | string) => writeFileSync(configFile, typeof c === 'string' ? c : stringify(c));
  write(config);
  const gateway = await startGateway({ configFile, databaseFile, logger: silentLogger, port: 0, host: '127.0.0.1' });
  return {
    gateway, url: gateway.url, dataDir, configFile, databaseFile,
    rewrite(c) { write(c); return gateway.reload(); },
    async close() { await gateway.close(); rmSync(dataDir, { recursive: true, force: true }); },
  };
}

export interface TestUpstream {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Requests received, in order: method, url, headers, body. */
  readonly seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server on loopback; by default it echoes like the demo upstream. */
export async function startUpstream(handler?: UpstreamHandler): Promise<TestUpstream> {
  const seen: TestUpstream['seen'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler) return handler(req, res, body);
      const out = JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server, port, url: `http://127.0.0.1:${port}`, seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export const keyEntry = (plain: string, id: string, scopes: string[] = [], extra: Record<string, unknown> = {}) => ({
  id, hash: `sha256:${hashApiKey(plain)}`, prefix: plain.slice(0, 8), scopes, ...extra,
});

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** fetch with the body read; json is {} when the body is not JSON. */
// A fresh connection per call: tests that run the CLI block this process in spawnSync for
// seconds, long enough for a server to close an idle keep-alive socket that fetch would then
// reuse ("other side closed"). A test about connection reuse passes its own dispatcher.
const freshConnections = new Agent({ pipelining: 0 });

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { dispatcher: freshConnections, ...init } as RequestInit);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}
