import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { assertWellFormedAnswer, parseFirstResponse, problemCode, rawExchange, rawRequest, startDemoGateway, type DemoUnderTest } from './support.ts';

// HTTP request smuggling and desync, over raw sockets. The danger is a request the gateway
// never checked reaching the upstream, hidden in the body of one it did check. The smuggled
// request here targets /api/internal/report (loopback is refused there): if the gateway
// parses it as a request of its own it refuses it (403), and only a real desync would make
// the recording upstream see it. So the property for every case is: the upstream never
// receives a request whose target contains "smuggled", and the gateway answers with
// problem+json where it refuses.

let d: DemoUnderTest;
before(async () => { d = await startDemoGateway(); });
after(async () => { await d.close(); });

const smuggled = 'GET /api/internal/report?smuggled=1 HTTP/1.1\r\nHost: x\r\nX-API-Key: pk_demo_writer\r\n\r\n';
const front = (port: number) => `POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-API-Key: pk_demo_writer\r\nContent-Type: application/json\r\n`;

async function assertNothingSmuggled(): Promise<void> {
  await new Promise((r) => setTimeout(r, 150));
  const leaked = d.forwarded().filter((s) => s.url.includes('smuggled'));
  assert.deepEqual(leaked.map((s) => `${s.method} ${s.url}`), [], 'the upstream never sees a smuggled request');
}

/** Every status line the gateway wrote back on the connection. */
const statusLines = (raw: string) => [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

describe('ambiguous framing is refused as 400 request_malformed and the connection closed', () => {
  const cases: Record<string, (port: number) => string> = {
    'CL.TE: Content-Length and Transfer-Encoding: chunked': (p) => {
      const body = `0\r\n\r\n${smuggled}`;
      return `${front(p)}Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`;
    },
    'TE.CL: Transfer-Encoding first, a short Content-Length': (p) => {
      const chunk = `{"a":1}${smuggled}`;
      return `${front(p)}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
    },
    'two different Content-Length headers': (p) => `${front(p)}Content-Length: 7\r\nContent-Length: ${7 + smuggled.length}\r\n\r\n{"a":1}${smuggled}`,
    'a Content-Length list "7, 90"': (p) => `${front(p)}Content-Length: 7, ${7 + smuggled.length}\r\n\r\n{"a":1}${smuggled}`,
    'a signed Content-Length "+7"': (p) => `${front(p)}Content-Length: +7\r\n\r\n{"a":1}${smuggled}`,
    'Transfer-Encoding: xchunked': (p) => `${front(p)}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'Transfer-Encoding: chunked, identity (chunked not last)': (p) => `${front(p)}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
    'a space before the colon: "Transfer-Encoding : chunked"': (p) => `${front(p)}Transfer-Encoding : chunked\r\nContent-Length: ${5 + smuggled.length}\r\n\r\n0\r\n\r\n${smuggled}`,
    'a vertical tab before the value': (p) => `${front(p)}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'Transfer-Encoding folded onto a continuation line': (p) => `${front(p)}Transfer-Encoding:\r\n chunked\r\nContent-Length: ${5 + smuggled.length}\r\n\r\n0\r\n\r\n${smuggled}`,
    'a chunk size that overflows 64 bits': (p) => `${front(p)}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n{"a":1}\r\n0\r\n\r\n${smuggled}`,
    'a negative chunk size': (p) => `${front(p)}Transfer-Encoding: chunked\r\n\r\n-1\r\n{"a":1}\r\n0\r\n\r\n${smuggled}`,
    'a chunk whose data is longer than its size': (p) => `${front(p)}Transfer-Encoding: chunked\r\n\r\n2\r\n{"a":1}\r\n0\r\n\r\n${smuggled}`,
    'bare LF after a chunk size': (p) => `${front(p)}Transfer-Encoding: chunked\r\n\r\n7\n{"a":1}\r\n0\r\n\r\n${smuggled}`,
    'a header folded with obs-fold (RFC 9112 5.2)': (p) => `${front(p).replace('X-API-Key: pk_demo_writer\r\n', 'X-API-Key: pk_demo_reader\r\n pk_demo_writer\r\n')}Content-Length: 7\r\n\r\n{"a":1}${smuggled}`,
    'bare LF as the header line ending': (p) => `${front(p)}Content-Length: 7\n\n{"a":1}${smuggled}`,
    'a NUL inside a header value': (p) => `${front(p)}X-Note: a\0b\r\nContent-Length: 7\r\n\r\n{"a":1}${smuggled}`,
    'HTTP/1.0 with Transfer-Encoding: chunked': (p) => `${front(p).replace('HTTP/1.1', 'HTTP/1.0')}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled}`,
  };
  for (const [name, build] of Object.entries(cases)) {
    test(`${name}: 400 request_malformed, connection closed, nothing reaches the upstream`, async () => {
      const a = await rawExchange(d.port, build(d.port));
      assertWellFormedAnswer(a, name);
      // Refused outright (Node's llhttp in strict mode): one answer, and the connection is
      // closed, so nothing after the ambiguous framing is ever read as a request.
      assert.equal(problemCode(a), 'request_malformed', `${name}: ${a.status} ${a.body}`);
      assert.equal(a.status, 400);
      assert.equal(a.headers.connection, 'close');
      assert.deepEqual(statusLines(a.raw), [400], `${name}: exactly one answer on the connection`);
      await assertNothingSmuggled();
    });
  }
});

describe('pipelining after a refusal', () => {
  test('a refused POST whose body holds a request: the body is discarded, the next pipelined request is answered as itself', async () => {
    const refused = `POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
    const next = `GET /api/orders?after=1 HTTP/1.1\r\nHost: x\r\nX-API-Key: pk_demo_writer\r\nConnection: close\r\n\r\n`;
    const a = await rawExchange(d.port, refused + next);
    assert.equal(a.status, 401);
    assert.equal(problemCode(a), 'credential_missing');
    const statuses = statusLines(a.raw);
    assert.ok(statuses.length <= 2, `at most two answers for two requests: ${statuses.join(', ')}`);
    if (statuses.length === 2) {
      assert.equal(statuses[1], 200, 'the genuine second request is served');
      assert.ok(d.forwarded().some((s) => s.url === '/api/orders?after=1'));
    }
    await assertNothingSmuggled();
  });

  test('a refused POST announcing a body too big to drain closes the connection: nothing after it is read', async () => {
    const big = 10 * 1024 * 1024;
    const refused = `POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big}\r\n\r\n`;
    const a = await rawExchange(d.port, refused + smuggled + smuggled);
    // The size is judged before authentication (pre-auth), from the header alone.
    assert.equal(problemCode(a), 'payload_too_large');
    assert.equal(a.headers.connection, 'close');
    assert.equal(statusLines(a.raw).length, 1);
    await assertNothingSmuggled();
  });

  test('a request line with a second request line glued by bare CR is refused', async () => {
    const a = await rawExchange(d.port, `GET /api/public/health HTTP/1.1\rGET /api/internal/report?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertWellFormedAnswer(a, 'bare CR');
    assert.equal(problemCode(a), 'request_malformed');
    await assertNothingSmuggled();
  });
});

describe('floods', () => {
  test('100 KB of headers is 431 request_header_too_large (problem+json on the raw socket)', async () => {
    const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', Array.from({ length: 100 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}`));
    assertWellFormedAnswer(a, 'header flood');
    assert.equal(a.status, 431);
    assert.equal(problemCode(a), 'request_header_too_large');
  });

  test('5000 tiny headers are 431, 500 within the limits are served', async () => {
    const many = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', Array.from({ length: 5000 }, (_, i) => `a${i}: b`));
    assert.equal(problemCode(many), 'request_header_too_large');
    const fine = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', ['X-API-Key: pk_demo_writer', ...Array.from({ length: 500 }, (_, i) => `a${i}: b`)]);
    assert.equal(fine.status, 200, fine.body);
  });

  test('50 connections flooding headers at once all get 431, and a normal request is served right after', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => rawRequest(d.port, 'GET /api/orders HTTP/1.1', [`X-Pad: ${'p'.repeat(40_000)}`])));
    for (const a of answers) assert.equal(problemCode(a), 'request_header_too_large');
    const ok = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', ['X-API-Key: pk_demo_writer']);
    assert.equal(ok.status, 200);
  });

  test('a 50 MB Content-Length is 413 payload_too_large before the body is read, and the connection is closed', async () => {
    const a = await rawExchange(d.port, `POST /api/orders HTTP/1.1\r\nHost: x\r\nX-API-Key: pk_demo_writer\r\nContent-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n{"a":`);
    assertWellFormedAnswer(a, 'body flood');
    assert.equal(problemCode(a), 'payload_too_large');
    assert.equal(a.headers.connection, 'close');
  });

  test('a chunked body that grows past the 1 MB route limit is cut off with 413 payload_too_large', async () => {
    const before = d.forwarded().length;
    const answer = await new Promise<string>((resolve) => {
      const s = connect(d.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      s.write(`POST /api/orders HTTP/1.1\r\nHost: x\r\nX-API-Key: pk_demo_writer\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const piece = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
      let sent = 0;
      const pump = () => {
        while (sent < 40 && !s.destroyed) { sent++; if (!s.write(piece)) { s.once('drain', pump); return; } }
        if (!s.destroyed) s.end('0\r\n\r\n');
      };
      pump();
    });
    const a = parseFirstResponse(answer);
    assertWellFormedAnswer(a, 'chunked flood');
    assert.equal(problemCode(a), 'payload_too_large');
    await new Promise((r) => setTimeout(r, 100));
    const reached = d.forwarded().slice(before).filter((s) => s.method === 'POST');
    for (const r of reached) assert.ok(r.body.length <= 1024 * 1024, 'the upstream never receives more than the route limit');
  });
});

describe('slow clients', () => {
  let slow: DemoUnderTest;
  before(async () => {
    slow = await startDemoGateway((y) => y.replace('realm: pinpoint-demo', 'realm: pinpoint-demo\n  headersTimeoutMs: 400\n  requestTimeoutMs: 800'));
  });
  after(async () => { await slow.close(); });

  test('slowloris (headers trickled forever) is cut off with 408 request_timeout within the configured time', async () => {
    const started = performance.now();
    const answer = await new Promise<string>((resolve) => {
      const s = connect(slow.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      const timer = setInterval(() => { if (!s.destroyed) s.write(`X-Slow-${Math.random()}: 1\r\n`); }, 100);
      s.on('close', () => { clearInterval(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
      s.write('GET /api/orders HTTP/1.1\r\nHost: x\r\n');
    });
    const elapsed = performance.now() - started;
    const a = parseFirstResponse(answer);
    assertWellFormedAnswer(a, 'slowloris');
    assert.equal(problemCode(a), 'request_timeout');
    assert.ok(elapsed < 3000, `cut off after ${Math.round(elapsed)} ms`);
  });

  test('a slow body (one byte every 150 ms) is cut off within the request timeout and the socket is closed', async () => {
    const started = performance.now();
    const answer = await new Promise<string>((resolve) => {
      const s = connect(slow.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      const timer = setInterval(() => { if (!s.destroyed) s.write('x'); }, 150);
      s.on('close', () => { clearInterval(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
      s.write('POST /api/orders HTTP/1.1\r\nHost: x\r\nX-API-Key: pk_demo_writer\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 4000, `the connection was closed after ${Math.round(elapsed)} ms`);
    const a = parseFirstResponse(answer);
    if (a.status !== 0) {
      assertWellFormedAnswer(a, 'slow body');
      assert.ok(['request_timeout', 'upstream_unavailable'].includes(problemCode(a) ?? ''), `${a.status} ${a.body}`);
    }
    const ok = await rawRequest(slow.port, 'GET /api/orders HTTP/1.1', ['X-API-Key: pk_demo_writer']);
    assert.equal(ok.status, 200, 'the gateway is still serving');
  });
});
