import { request } from 'node:http';
import { readAnswer, type RawAnswer } from '../support/raw-answer.ts';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startAdminServer, type AdminServer } from '../../src/admin/server.ts';
import type { AuthThrottleSettings } from '../../src/limits/auth-failure-throttle.ts';
import type { FailureCounter } from '../../src/limits/failure-counter.ts';
import { startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { tenancyConfig } from './support.ts';

// The admin listener with its own throttle settings and a logger whose lines the test reads,
// plus a raw HTTP client that can pick its source address on loopback (127.0.0.2, ...) and send
// exactly the headers a browser would (Origin, Sec-Fetch-Site, Cookie), nothing added.

export type { RawAnswer };

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly token?: string | null;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Source address on loopback: the whole 127.0.0.0/8 reaches a listener on 127.0.0.1. */
  readonly from?: string;
}

export interface SecurityEnv {
  readonly gw: TestGateway;
  readonly admin: AdminServer;
  readonly upstream: TestUpstream;
  /** Every log line the admin listener wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  req(r: RawRequest): Promise<RawAnswer>;
  close(): Promise<void>;
}

export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawAnswer> {
  const u = new URL(r.path, baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(r.token ? { authorization: `Bearer ${r.token}` } : {}), ...r.headers };
    if (r.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length' || h.toLowerCase() === 'transfer-encoding')) {
      headers['content-length'] = String(Buffer.byteLength(r.body));
    }
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: r.method ?? 'GET', headers, agent: false, ...(r.from ? { localAddress: r.from } : {}) }, (res) => { readAnswer(res).then(resolve, reject); });
    // The server may answer and close before an oversized body is fully written: the answer counts.
    req.on('error', reject);
    req.end(r.body);
  });
}

/** `sharedAuthFailures`: the failure counts this listener shares with others (a node of a cluster with --redis). */
export async function startSecurityEnv(authThrottle: AuthThrottleSettings, trustedOrigins: string[] = [], sharedAuthFailures?: FailureCounter): Promise<SecurityEnv> {
  const upstream = await startUpstream();
  const gw = await startTestGateway(tenancyConfig(upstream.url));
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { logs.push(JSON.parse(String(chunk)) as Record<string, unknown>); cb(); } }));
  const admin = await startAdminServer({
    gateway: gw.gateway, databaseFile: gw.databaseFile, tokens: gw.gateway.current().raw.admin!.tokens, port: 0, logger, authThrottle, trustedOrigins, sharedAuthFailures,
  });
  return {
    gw, admin, upstream, logs,
    req: (r) => rawRequest(admin.url, r),
    async close() { await admin.close(); await gw.close(); await upstream.close(); },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
