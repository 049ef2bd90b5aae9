import assert from 'node:assert/strict';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { recentTraces } from '../../src/store/sqlite/call-log-store.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { assertWellFormedAnswer, problemCode, rawRequest } from './support.ts';

// A dependency failing must give the caller a clear, coded answer and must not cost the
// gateway anything that outlives the request: every fault below ends with the count of
// open TCP handles of this process back where it started.

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

async function settleTo(baseline: number, ms = 3000): Promise<number> {
  const until = Date.now() + ms;
  let n = tcpHandles();
  while (n > baseline && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    n = tcpHandles();
  }
  return n;
}

/** A raw TCP "upstream" that misbehaves on purpose. */
async function misbehaving(onSocket: (s: Socket) => void): Promise<{ server: TcpServer; url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); onSocket(s);
    // Read (and ignore) everything, so a FIN from the gateway is seen and this side closes too.
    s.resume(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

async function deadPort(): Promise<string> {
  const m = await misbehaving(() => undefined);
  await m.close();
  return m.url;
}

const config = (targets: Record<string, string>) => ({
  upstreams: Object.fromEntries(Object.entries(targets).map(([name, url]) => [name, {
    targets: [{ url }], retries: 0, timeouts: { connectMs: 500, responseHeadersMs: 400, bodyIdleMs: 400 }, passive: { failuresToEject: 3, ejectMs: 200 },
  }])),
  routes: Object.keys(targets).map((name) => ({ id: name, path: `/${name}`, methods: ['GET', 'POST'], upstream: name })),
});

describe('upstream faults', () => {
  let gw: TestGateway;
  const fakes: { close(): Promise<void> }[] = [];
  let baseline = 0;

  before(async () => {
    const slow = await misbehaving(() => undefined); // accepts, never answers
    const reset = await misbehaving((s) => s.once('data', () => s.resetAndDestroy()));
    const halfway = await misbehaving((s) => s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\npartial');
      setTimeout(() => s.resetAndDestroy(), 20);
    }));
    const garbage = await misbehaving((s) => s.once('data', () => s.end('NOT HTTP AT ALL\r\n\r\n')));
    const stall = await misbehaving((s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome')));
    fakes.push(slow, reset, halfway, garbage, stall);
    gw = await startTestGateway(config({ down: await deadPort(), slow: slow.url, reset: reset.url, halfway: halfway.url, garbage: garbage.url, stall: stall.url }));
    baseline = tcpHandles();
  });
  after(async () => { await gw.close(); for (const f of fakes) await f.close(); });

  const hit = (path: string) => rawRequest(gw.gateway.port, `GET ${path} HTTP/1.1`, []);

  test('a refused connection is 502 upstream_unavailable, then 503 no_healthy_upstream once the target is ejected', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await hit('/down');
      assertWellFormedAnswer(a, 'down', { upstreamFault: true });
      codes.push(`${a.status} ${problemCode(a)}`);
    }
    assert.deepEqual(codes.slice(0, 3), ['502 upstream_unavailable', '502 upstream_unavailable', '502 upstream_unavailable']);
    assert.deepEqual(codes.slice(3), ['503 no_healthy_upstream', '503 no_healthy_upstream']);
  });

  test('an upstream that never answers is 504 upstream_timeout after responseHeadersMs', async () => {
    const started = performance.now();
    const a = await hit('/slow');
    assert.equal(a.status, 504);
    assert.equal(problemCode(a), 'upstream_timeout');
    assertWellFormedAnswer(a, 'slow', { upstreamFault: true });
    const ms = performance.now() - started;
    assert.ok(ms >= 350 && ms < 2000, `answered after ${Math.round(ms)} ms`);
  });

  test('a connection reset before the answer is 502 upstream_unavailable', async () => {
    const a = await hit('/reset');
    assertWellFormedAnswer(a, 'reset', { upstreamFault: true });
    assert.equal(a.status, 502);
    assert.equal(problemCode(a), 'upstream_unavailable');
  });

  test('an answer that is not HTTP is 502 upstream_unavailable', async () => {
    const a = await hit('/garbage');
    assertWellFormedAnswer(a, 'garbage', { upstreamFault: true });
    assert.equal(a.status, 502);
    assert.equal(problemCode(a), 'upstream_unavailable');
  });

  test('a reset after the headers were relayed cuts the client connection (no silent truncation) and is logged as aborted', async () => {
    const a = await hit('/halfway');
    assert.equal(a.status, 200);
    assert.ok(a.body.length < 1000, 'the client did not receive a complete-looking body');
    await gw.gateway.writer.flush();
    const db = openDatabase(gw.databaseFile, { readOnly: true });
    try {
      const trace = recentTraces(db, 20).find((tr) => tr.routeId === 'halfway');
      assert.ok(trace?.upstream?.aborted, `the trace records the abort: ${JSON.stringify(trace?.upstream)}`);
    } finally { db.close(); }
  });

  test('a body that stalls after the headers is cut after bodyIdleMs', async () => {
    const started = performance.now();
    const a = await hit('/stall');
    assert.equal(a.status, 200);
    assert.ok(a.body.length < 1000);
    assert.ok(performance.now() - started < 3000);
  });

  test('after 100 failing requests of every kind, no socket is left open', async () => {
    const paths = ['/down', '/slow', '/reset', '/garbage', '/halfway', '/stall'];
    await Promise.all(Array.from({ length: 100 }, (_, i) => hit(paths[i % paths.length]!)));
    const after = await settleTo(baseline);
    assert.ok(after <= baseline, `TCP handles: ${baseline} before, ${after} after`);
  });
});
