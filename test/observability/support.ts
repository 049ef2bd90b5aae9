import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAdminServer, type AdminServer } from '../../src/admin/server.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { tenancyConfig } from '../admin/support.ts';
import { call, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';

// The admin test tenancy (acme's `shop`, globex's `stock`) plus whatever observability
// config a test adds, with a real webhook receiver on loopback.

export interface Hook {
  readonly url: string;
  readonly received: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startHook(): Promise<Hook> {
  const received: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => { received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>); res.writeHead(204); res.end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received,
    close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

export interface ObsEnv {
  readonly gw: TestGateway;
  readonly admin: AdminServer;
  readonly upstream: TestUpstream;
  get(path: string, key?: string, init?: RequestInit): Promise<Answer>;
  adm(path: string, token: string | null): Promise<Answer>;
  close(): Promise<void>;
}

export async function startObsEnv(extra: (base: ReturnType<typeof tenancyConfig>) => object = (b) => b): Promise<ObsEnv> {
  const upstream = await startUpstream();
  const gw = await startTestGateway(extra(tenancyConfig(upstream.url)));
  const admin = await startAdminServer({ gateway: gw.gateway, databaseFile: gw.databaseFile, tokens: gw.gateway.current().raw.admin!.tokens, port: 0, logger: silentLogger });
  return {
    gw, admin, upstream,
    get: (path, key, init = {}) => call(`${gw.url}${path}`, { ...init, headers: { ...(key ? { 'x-api-key': key } : {}), ...(init.headers as Record<string, string> | undefined) } }),
    adm: (path, token) => call(`${admin.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }),
    async close() { await admin.close(); await gw.close(); await upstream.close(); },
  };
}

/** The value of one sample line of a Prometheus text exposition, or null. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[4]);
  }
  return null;
}
