import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { SignJWT, importJWK } from 'jose';
import { demoConfigYaml } from '../../src/demo/demo-config.ts';
import { demoIssuer, demoIssuerPrivateJwk } from '../../src/demo/demo-keys.ts';
import { isReasonCode } from '../../src/reasons/catalogue.ts';
import { startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';

// Shared by the hardening suites: the demo's own config (every policy of the contract)
// in front of a real upstream that records every request it receives, a raw-socket
// client that can send bytes no well-behaved client would, and the one property every
// answer of the gateway must satisfy.

export interface DemoUnderTest {
  readonly t: TestGateway;
  readonly upstream: TestUpstream;
  readonly host: string;
  readonly port: number;
  /** Requests the upstream received, health probes left out. */
  forwarded(): TestUpstream['seen'];
  close(): Promise<void>;
}

/** The demo config, pointed at a recording upstream instead of the demo echo server. */
export async function startDemoGateway(edit: (yaml: string) => string = (y) => y): Promise<DemoUnderTest> {
  const upstream = await startUpstream();
  const yaml = demoConfigYaml(Date.now()).replace('${PINPOINT_DEMO_ECHO_URL:-http://127.0.0.1:8082}', upstream.url);
  const t = await startTestGateway(edit(yaml));
  return {
    t, upstream, host: '127.0.0.1', port: t.gateway.port,
    forwarded: () => upstream.seen.filter((s) => s.url !== '/healthz'),
    async close() { await t.close(); await upstream.close(); },
  };
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Everything the server sent on the connection, for pipelining checks. */
  readonly raw: string;
}

/**
 * Sends bytes exactly as given and reads until the server closes the connection (or
 * `timeoutMs`, which then fails the test: the gateway must never hang a client that has
 * sent a complete request). Only the first response is parsed.
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no complete answer within ${timeoutMs} ms to ${JSON.stringify(String(bytes).slice(0, 300))}`)); }, timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A reset after a complete answer is the server refusing the rest of a hostile stream.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve(parseFirstResponse(raw));
    });
  });
}

export function parseFirstResponse(raw: string): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: '', raw };
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.slice(end + 4);
  const len = headers['content-length'];
  if (len !== undefined) body = body.slice(0, Number(len));
  else if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8'), raw };
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const nl = s.indexOf('\r\n', i);
    if (nl === -1) return out;
    const size = parseInt(s.slice(i, nl), 16);
    if (!size) return out;
    out += s.slice(nl + 2, nl + 2 + size);
    i = nl + 2 + size + 2;
  }
}

/** A request with the given lines, closed after one answer. */
export function rawRequest(port: number, requestLine: string, headerLines: readonly string[], body = ''): Promise<RawAnswer> {
  const head = [requestLine, `Host: 127.0.0.1:${port}`, 'Connection: close', ...headerLines].join('\r\n');
  return rawExchange(port, `${head}\r\n\r\n${body}`);
}

/**
 * What every answer must be: either the upstream's (the recording upstream only ever says
 * 200 or 201 in JSON, so anything else came from the gateway), or a gateway answer that is
 * problem+json with a catalogue code, an X-Request-Id equal to the body's requestId, and
 * never a 5xx while the upstream is up (with `upstreamFault`, only 502/503/504).
 */
export function assertWellFormedAnswer(a: RawAnswer, context: string, options: { upstreamFault?: boolean; streams?: boolean } = {}): void {
  assert.ok(a.status >= 200, `${context}: the gateway answered (got ${JSON.stringify(a.raw.slice(0, 200))})`);
  if ((a.status === 200 || a.status === 201) && (a.headers['content-type'] === 'application/json' || (options.streams && /^text\/event-stream/.test(a.headers['content-type'] ?? '')))) return;
  if (options.upstreamFault) assert.ok([502, 503, 504].includes(a.status), `${context}: a failing upstream is 502/503/504, got ${a.status}`);
  else assert.ok(a.status < 500, `${context}: no gateway-generated 5xx, got ${a.status} ${a.body}`);
  assert.equal(a.headers['content-type'], 'application/problem+json', `${context}: a gateway answer is problem+json (status ${a.status})`);
  let json: Record<string, unknown>;
  try { json = JSON.parse(a.body) as Record<string, unknown>; } catch { assert.fail(`${context}: the problem body is JSON: ${a.body.slice(0, 200)}`); }
  assert.ok(typeof json.code === 'string' && isReasonCode(json.code), `${context}: code ${String(json.code)} is in the catalogue`);
  assert.equal(json.status, a.status, `${context}: body status equals the HTTP status`);
  const rid = a.headers['x-request-id'];
  assert.ok(rid, `${context}: X-Request-Id is present`);
  assert.equal(json.requestId, rid, `${context}: X-Request-Id equals the body's requestId`);
}

export function problemCode(a: RawAnswer): string | undefined {
  try { return (JSON.parse(a.body) as { code?: string }).code; } catch { return undefined; }
}

/** A token from the demo issuer, as `pinpoint token` makes it, with overridable claims and header. */
export async function demoToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, ttlSeconds = 3600): Promise<string> {
  const jwk = demoIssuerPrivateJwk();
  const key = await importJWK(jwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: 'orders:read orders:write', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT', ...header })
    .setSubject('alice').setIssuer(demoIssuer.issuer).setAudience(demoIssuer.audience)
    .setIssuedAt(now).setExpirationTime(now + ttlSeconds)
    .sign(key);
}

export const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');
export const fromB64url = (s: string): Buffer => Buffer.from(s, 'base64url');

/**
 * Fast-check settings for a run bounded in time as well as in count, reproducible from the
 * seed fast-check prints on failure. scripts/fuzz.ts scales both up (PINPOINT_FUZZ_SCALE)
 * and can replay a seed (PINPOINT_FUZZ_SEED).
 */
export function bounded(numRuns: number, seconds = 4): { numRuns: number; interruptAfterTimeLimit: number; markInterruptAsFailure: false; seed?: number } {
  const scale = Number(process.env.PINPOINT_FUZZ_SCALE ?? '1') || 1;
  const seed = process.env.PINPOINT_FUZZ_SEED;
  return {
    numRuns: Math.round(numRuns * scale), interruptAfterTimeLimit: Math.round(seconds * scale * 1000), markInterruptAsFailure: false,
    ...(seed ? { seed: Number(seed) } : {}),
  };
}
