import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TraceRecord } from '../../src/log/trace.ts';
import type { ReasonCode } from '../../src/reasons/catalogue.ts';
import { call, keyEntry, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { traceById } from '../support/assertions.ts';

// The listener's own refusals: routing, request shape and malformed or slow HTTP. Each is
// answered as problem+json before the upstream sees anything, and each is in the call log.

const KEY = 'pk_test_gateway_reports';

let upstream: TestUpstream;
let gw: TestGateway;
let port: number;

before(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway({
    // Small listener timeouts so that slow clients are cut off within the test's patience.
    gateway: { headersTimeoutMs: 400, requestTimeoutMs: 1500 },
    upstreams: { backend: { targets: [{ url: upstream.url }] } },
    consumers: [{ id: 'analyst', keys: [keyEntry(KEY, 'analyst-key', ['reports:read'])] }],
    routes: [
      { id: 'public-info', path: '/api/public/info', methods: ['GET'], upstream: 'backend' },
      { id: 'internal-report', path: '/api/internal/report', methods: ['GET'], upstream: 'backend', auth: ['apiKey'], scopes: { GET: ['reports:read'] } },
      { id: 'orders', path: '/orders', methods: ['GET', 'POST'], upstream: 'backend', maxBodyBytes: 1000, contentTypes: ['application/json'] },
    ],
  });
  port = gw.gateway.port;
});

after(async () => {
  await gw?.close();
  await upstream?.close();
});

function traceOf(requestId: string): Promise<TraceRecord> {
  return traceById(gw, requestId);
}

/** The refusal is a problem+json with the code, and the call log holds its trace with the running config version. */
async function assertRefused(a: Answer, status: number, code: ReasonCode, deniedBy?: string): Promise<TraceRecord> {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status}: ${a.text}`);
  assert.equal(a.headers.get('content-type'), 'application/problem+json');
  assert.equal(a.json.code, code);
  assert.equal(a.json.status, status);
  const requestId = a.headers.get('x-request-id');
  assert.ok(requestId, 'the refusal carries X-Request-Id');
  assert.equal(a.json.requestId, requestId);
  const trace = await traceOf(requestId);
  assert.equal(trace.status, status);
  assert.equal(trace.code, code);
  assert.equal(trace.answeredBy, 'gateway');
  assert.equal(trace.configVersion, gw.gateway.current().version);
  assert.ok(trace.configVersion >= 1);
  if (deniedBy) assert.equal(trace.deniedBy, deniedBy);
  return trace;
}

/** node:http keeps the path exactly as written (fetch would resolve the dot-segments itself). */
function rawRequest(path: string, options: { method?: string; headers?: Record<string, string>; chunks?: Buffer[] } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(toAnswer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
    });
    req.on('error', reject);
    for (const c of options.chunks ?? []) req.write(c);
    req.end();
  });
}

function toAnswer(status: number, raw: IncomingHttpHeaders | Record<string, string>, text: string): Answer {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status, headers, text, json };
}

interface SocketExchange { readonly answer: Answer | null; readonly raw: string; readonly closedAfterMs: number }

/**
 * Speaks raw TCP to the gateway: `send` writes whatever it likes, and the exchange ends when
 * the gateway closes the connection. A gateway that never closes fails the test at `limitMs`.
 */
function socketExchange(send: (write: (data: string | Buffer) => void) => (() => void) | void, limitMs = 8000): Promise<SocketExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    let stop: (() => void) | void;
    const guard = setTimeout(() => { socket.destroy(); reject(new Error(`the gateway kept the connection open for ${limitMs} ms`)); }, limitMs);
    socket.on('connect', () => { stop = send((d) => { if (!socket.destroyed) socket.write(d); }); });
    socket.on('data', (c: Buffer) => { raw += c.toString('latin1'); });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      if (stop) stop();
      const closedAfterMs = Date.now() - started;
      const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(raw);
      if (!m) { resolve({ answer: null, raw, closedAfterMs }); return; }
      const headers: Record<string, string> = {};
      for (const line of m[2]!.split('\r\n')) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ answer: toAnswer(Number(m[1]), headers, m[3]!), raw, closedAfterMs });
    });
  });
}

const seenCount = () => upstream.seen.length;

describe('routing refusals', () => {
  test('a path no route serves gets 404 route_not_found', async () => {
    const a = await call(`${gw.url}/api/nothing-here`);
    const trace = await assertRefused(a, 404, 'route_not_found', 'router');
    assert.equal(trace.routeId, null);
    assert.equal(trace.path, '/api/nothing-here');
  });

  test('a method the route does not declare gets 405 method_not_allowed with an Allow header', async () => {
    const before = seenCount();
    const a = await call(`${gw.url}/orders`, { method: 'DELETE' });
    await assertRefused(a, 405, 'method_not_allowed', 'router');
    assert.equal(a.headers.get('allow'), 'GET, POST');
    assert.equal(seenCount(), before);
  });

  test('a wrong method on an authenticated route is 405, not 401 or 403, even without a credential', async () => {
    const a = await call(`${gw.url}/api/internal/report`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
    await assertRefused(a, 405, 'method_not_allowed');
    assert.equal(a.headers.get('allow'), 'GET');
  });

  test('/api/public/../internal/report is judged by the internal report route\'s policy, not the public one\'s', async () => {
    const anonymous = await rawRequest('/api/public/../internal/report');
    const trace = await assertRefused(anonymous, 401, 'credential_missing');
    assert.equal(trace.routeId, 'internal-report');
    assert.equal(trace.path, '/api/internal/report');

    const before = seenCount();
    const keyed = await rawRequest('/api/public/../internal/report', { headers: { 'x-api-key': KEY } });
    assert.equal(keyed.status, 200, keyed.text);
    assert.equal(seenCount(), before + 1);
    assert.equal(upstream.seen.at(-1)!.url, '/api/internal/report', 'the upstream gets the normalized path that was authorized');
  });

  test('dot-segments and doubled slashes are resolved before matching', async () => {
    const a = await rawRequest('/api//public/./info');
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.url, '/api/public/info');
  });

  test('an encoded slash in the path is refused with 400 request_malformed before reaching the upstream', async () => {
    const before = seenCount();
    const a = await rawRequest('/api/public%2F..%2Finternal%2Freport');
    const trace = await assertRefused(a, 400, 'request_malformed', 'router');
    assert.match(String(trace.checks[0]?.evidence?.problem), /encoded slash/);
    assert.equal(seenCount(), before);
  });

  test('a path that climbs above the root is refused with 400 request_malformed', async () => {
    const a = await rawRequest('/../etc/passwd');
    await assertRefused(a, 400, 'request_malformed', 'router');
  });
});

describe('request shape', () => {
  test('a body whose Content-Length exceeds the route\'s maxBodyBytes gets 413 before the upstream sees anything', async () => {
    const before = seenCount();
    const a = await call(`${gw.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note: 'x'.repeat(5000) }) });
    const trace = await assertRefused(a, 413, 'payload_too_large', 'request-shape');
    assert.equal(trace.routeId, 'orders');
    assert.equal(seenCount(), before);
  });

  test('a declared 10 MB body is refused with 413 at once, without the gateway waiting for the body', async () => {
    const before = seenCount();
    const x = await socketExchange((write) => {
      write('POST /orders HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{"start":');
    }, 3000);
    assert.ok(x.answer, `an HTTP answer, got: ${x.raw.slice(0, 200)}`);
    await assertRefused(x.answer, 413, 'payload_too_large', 'request-shape');
    assert.equal(x.answer.headers.get('connection'), 'close', 'the unread body is not drained: the connection is closed');
    assert.ok(x.closedAfterMs < 1000, `closed after ${x.closedAfterMs} ms`);
    assert.equal(seenCount(), before);
  });

  test('a chunked body that grows past maxBodyBytes gets 413 and the upstream never gets a complete request', async () => {
    const before = seenCount();
    const chunks = Array.from({ length: 6 }, () => Buffer.from('"' + 'y'.repeat(298) + '"'));
    const a = await rawRequest('/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks });
    const trace = await assertRefused(a, 413, 'payload_too_large', 'upstream');
    assert.equal(trace.request.contentLength, null);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seenCount(), before);
  });

  test('a chunked body within maxBodyBytes is forwarded', async () => {
    const a = await rawRequest('/orders', { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks: [Buffer.from('{"a":'), Buffer.from('1}')] });
    assert.equal(a.status, 201, a.text);
    assert.equal(upstream.seen.at(-1)!.body, '{"a":1}');
  });

  test('a body with a Content-Type the route does not accept gets 415 unsupported_media_type', async () => {
    const before = seenCount();
    const a = await call(`${gw.url}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    await assertRefused(a, 415, 'unsupported_media_type', 'request-shape');
    assert.equal(seenCount(), before);
    const ok = await call(`${gw.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"ok":true}' });
    assert.equal(ok.status, 201, 'media type parameters do not matter');
  });

  test('request headers over 16 KiB get 431 request_header_too_large as problem+json', async () => {
    const before = seenCount();
    const a = await call(`${gw.url}/api/public/info`, { headers: { 'x-padding': 'p'.repeat(17 * 1024) } });
    const trace = await assertRefused(a, 431, 'request_header_too_large', 'http-parser');
    assert.match(String(a.json.detail), /16384 bytes/);
    assert.equal(trace.checks[0]?.evidence?.error, 'HPE_HEADER_OVERFLOW');
    assert.equal(seenCount(), before);
  });

  test('headers just under the limit are accepted', async () => {
    const a = await call(`${gw.url}/api/public/info`, { headers: { 'x-padding': 'p'.repeat(15 * 1024) } });
    assert.equal(a.status, 200);
  });
});

describe('malformed and slow clients', () => {
  test('bytes that are not HTTP get 400 request_malformed and the connection is closed', async () => {
    const x = await socketExchange((write) => write(Buffer.from('\x16\x03\x01\x02\x00garbage that is not http\r\n\r\n', 'latin1')), 3000);
    assert.ok(x.answer, `an HTTP answer, got: ${JSON.stringify(x.raw.slice(0, 200))}`);
    const trace = await assertRefused(x.answer, 400, 'request_malformed', 'http-parser');
    assert.equal(x.answer.headers.get('connection'), 'close');
    assert.match(String(trace.checks[0]?.evidence?.error), /^HPE_/);
  });

  test('an HTTP/1.1 request without Host gets 400 request_malformed from the gateway, in the call log, and never reaches the upstream', async () => {
    const before = seenCount();
    const x = await socketExchange((write) => write('GET /api/public/info HTTP/1.1\r\nX-Probe: no-host\r\nConnection: close\r\n\r\n'), 3000);
    assert.ok(x.answer, `an HTTP answer, got: ${JSON.stringify(x.raw.slice(0, 200))}`);
    const trace = await assertRefused(x.answer, 400, 'request_malformed');
    assert.match(String(x.answer.json.detail), /Host/);
    assert.equal(trace.path, '/api/public/info');
    assert.equal(seenCount(), before);
  });

  test('an HTTP/1.0 request without Host is still served (Host is an HTTP/1.1 requirement)', async () => {
    const x = await socketExchange((write) => write('GET /api/public/info HTTP/1.0\r\n\r\n'), 3000);
    assert.equal(x.answer?.status, 200, JSON.stringify(x.raw.slice(0, 200)));
  });

  test('a client that never finishes its headers (slowloris) is cut off with 408 request_timeout', async () => {
    const x = await socketExchange((write) => {
      write('GET /api/public/info HTTP/1.1\r\nHost: gw\r\n');
      // One more header line every 100 ms, forever: trickling must not keep the socket alive.
      let n = 0;
      const timer = setInterval(() => write(`X-Slow-${n++}: a\r\n`), 100);
      return () => clearInterval(timer);
    }, 6000);
    assert.ok(x.closedAfterMs >= 300, `not cut off before headersTimeoutMs (${x.closedAfterMs} ms)`);
    assert.ok(x.closedAfterMs < 4000, `cut off within seconds, not after Node's 30 s sweep (${x.closedAfterMs} ms)`);
    assert.ok(x.answer, `an HTTP answer before the close, got: ${JSON.stringify(x.raw.slice(0, 200))}`);
    await assertRefused(x.answer, 408, 'request_timeout', 'http-parser');
  });

  test('a client that sends its headers and then goes quiet is cut off too', async () => {
    const x = await socketExchange((write) => write('GET /api/public/info HTTP/1.1\r\nHost: gw\r\nX-Half: '), 6000);
    assert.ok(x.closedAfterMs < 4000, `cut off within seconds (${x.closedAfterMs} ms)`);
    assert.equal(x.answer?.status, 408);
  });

  test('a client that trickles its body slower than requestTimeoutMs is cut off with 408, and the upstream never gets a complete request', async () => {
    const before = seenCount();
    const x = await socketExchange((write) => {
      write('POST /orders HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n');
      const timer = setInterval(() => write(' '), 100);
      return () => clearInterval(timer);
    }, 8000);
    assert.ok(x.closedAfterMs >= 1200 && x.closedAfterMs < 5000, `cut off near requestTimeoutMs (${x.closedAfterMs} ms)`);
    assert.equal(x.answer?.status, 408, JSON.stringify(x.raw.slice(0, 200)));
    assert.equal(x.answer?.json.code, 'request_timeout');
    assert.equal(seenCount(), before);
  });

  test('a slow client does not delay others: requests on other connections are answered meanwhile', async () => {
    const slow = socketExchange((write) => write('GET /api/public/info HTTP/1.1\r\nHost: gw\r\n'), 6000);
    const started = Date.now();
    const a = await call(`${gw.url}/api/public/info`);
    assert.equal(a.status, 200);
    assert.ok(Date.now() - started < 300);
    assert.equal((await slow).answer?.status, 408);
  });
});

describe('listener settings', () => {
  test('a requestTimeoutMs shorter than the default headersTimeoutMs starts, and bounds the headers too', async (t) => {
    const short = await startTestGateway({
      gateway: { requestTimeoutMs: 600 },
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      routes: [{ id: 'public-info', path: '/api/public/info', methods: ['GET'], upstream: 'backend' }],
    });
    t.after(() => short.close());
    assert.equal((await call(`${short.url}/api/public/info`)).status, 200);
    const started = Date.now();
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(short.gateway.port, '127.0.0.1', () => socket.write('GET /api/public/info HTTP/1.1\r\nHost: gw\r\n'));
      let data = '';
      const guard = setTimeout(() => { socket.destroy(); reject(new Error('not cut off')); }, 5000);
      socket.on('data', (c: Buffer) => { data += c.toString(); });
      socket.on('error', () => undefined);
      socket.on('close', () => { clearTimeout(guard); resolve(data); });
    });
    assert.match(raw, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started < 3000, `cut off after ${Date.now() - started} ms`);
  });
});

describe('Expect: 100-continue', () => {
  /** Sends headers with Expect, waits, and reports whether the gateway said 100 before anything else. */
  function expectContinue(path: string, headers: Record<string, string>): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let raw = '';
      const body = '{"a":1}';
      socket.on('connect', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n`
          + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
      });
      socket.on('data', (c: Buffer) => {
        const first = raw === '';
        raw += c.toString('latin1');
        if (first && raw.startsWith('HTTP/1.1 100')) socket.write(body);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(raw));
    });
  }

  test('a refused request gets its refusal without a 100 Continue, so the client never uploads the body', async () => {
    const raw = await expectContinue('/api/internal/report', {});
    assert.match(raw, /^HTTP\/1\.1 405 /);
    assert.doesNotMatch(raw, /100 Continue/);
  });

  test('an allowed request gets 100 Continue first, then the upstream answer with the body forwarded', async () => {
    const before = seenCount();
    const raw = await expectContinue('/orders', {});
    assert.match(raw, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201/);
    assert.equal(seenCount(), before + 1);
    assert.equal(upstream.seen.at(-1)!.body, '{"a":1}');
  });
});
