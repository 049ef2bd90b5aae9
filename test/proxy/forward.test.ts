import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TraceRecord } from '../../src/log/trace.ts';
import { findTrace } from '../../src/store/sqlite/call-log-store.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { call, keyEntry, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';

// The data plane end to end: a real client, the real gateway and real upstream servers on
// loopback. What the upstream receives and what the client gets back are both observed.

const MB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Resolves when `predicate` holds, failing the test instead of hanging when it never does. */
async function eventually(what: string, predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface RawAnswer { status: number; headers: IncomingHttpHeaders; body: Buffer }

/** node:http instead of fetch where the test needs exact control of headers or of body timing. */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer }): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A binary-safe upstream that measures what it receives instead of echoing it. */
interface StreamingUpstream {
  readonly url: string;
  /** Bytes received so far by the request in progress, and the last completed upload. */
  readonly uploads: { received: number; sha: string | null; contentLength: string | undefined }[];
  download: Buffer;
  /** Resolved by the test to let the upstream finish a deliberately paused response. */
  releaseResponse: (() => void) | null;
  close(): Promise<void>;
}

async function startStreamingUpstream(): Promise<StreamingUpstream> {
  const state: StreamingUpstream = {
    url: '', uploads: [], download: Buffer.alloc(0), releaseResponse: null,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST') {
      const upload = { received: 0, sha: null as string | null, contentLength: req.headers['content-length'] };
      state.uploads.push(upload);
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => { upload.received += c.length; hash.update(c); });
      req.on('end', () => {
        upload.sha = hash.digest('hex');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ received: upload.received, sha: upload.sha }));
      });
      return;
    }
    if (req.url === '/paused-download') {
      // The first part now, the rest only once the test has seen the first part arrive.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 1));
      state.releaseResponse = () => res.end(Buffer.alloc(64 * 1024, 2));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(state.download.length) });
    res.end(state.download);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  });
}

const KEY = 'pk_test_forward_0001';

let echo: TestUpstream;
let forbidding: TestUpstream;
let hopping: TestUpstream;
let streaming: StreamingUpstream;
let gw: TestGateway;

before(async () => {
  echo = await startUpstream();
  forbidding = await startUpstream((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/json', 'x-upstream-reason': 'owner-only' });
    res.end('{"error":"only the owner may read this document"}');
  });
  hopping = await startUpstream((_req, res) => {
    res.writeHead(200, { connection: 'x-upstream-private', 'x-upstream-private': 'secret-hop', 'x-visible': 'yes', 'content-type': 'text/plain' });
    res.end('ok');
  });
  streaming = await startStreamingUpstream();
  gw = await startTestGateway({
    upstreams: {
      echo: { targets: [{ url: echo.url }] },
      forbidding: { targets: [{ url: forbidding.url }] },
      hopping: { targets: [{ url: hopping.url }] },
      streaming: { targets: [{ url: streaming.url }] },
    },
    tenants: [{ id: 'acme' }],
    consumers: [{ id: 'acme-app', tenant: 'acme', keys: [keyEntry(KEY, 'acme-key-1', ['docs:read'])] }],
    routes: [
      { id: 'echo', path: '/echo', methods: ['GET', 'POST'], upstream: 'echo' },
      { id: 'keyed', path: '/keyed', methods: ['GET'], upstream: 'echo', auth: ['apiKey'] },
      { id: 'keyed-forwarding', path: '/keyed-forwarding', methods: ['GET'], upstream: 'echo', auth: ['apiKey'], forwardCredential: true },
      { id: 'document', path: '/documents/{id}', methods: ['GET'], upstream: 'forbidding' },
      { id: 'hop', path: '/hop', methods: ['GET'], upstream: 'hopping' },
      { id: 'upload', path: '/upload', methods: ['POST'], upstream: 'streaming', maxBodyBytes: 16 * MB },
      { id: 'download', path: '/download', methods: ['GET'], upstream: 'streaming' },
      { id: 'paused-download', path: '/paused-download', methods: ['GET'], upstream: 'streaming' },
    ],
  });
});

after(async () => {
  await gw?.close();
  await Promise.all([echo?.close(), forbidding?.close(), hopping?.close(), streaming?.close()]);
});

async function traceOf(requestId: string): Promise<TraceRecord> {
  await gw.gateway.writer.flush();
  const db = openDatabase(gw.databaseFile, { readOnly: true });
  try {
    const trace = findTrace(db, requestId);
    assert.ok(trace, `a trace for request ${requestId} is in the call log`);
    return trace;
  } finally {
    db.close();
  }
}

const lastSeen = (u: TestUpstream) => {
  const s = u.seen.at(-1);
  assert.ok(s, 'the upstream received a request');
  return s;
};

describe('bodies stream both ways', () => {
  test('a 5 MB upload arrives at the upstream byte for byte', async () => {
    const body = randomBytes(5 * MB);
    const a = await rawRequest(`${gw.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, body });
    assert.equal(a.status, 200, a.body.toString());
    const upload = streaming.uploads.at(-1)!;
    assert.equal(upload.received, body.length);
    assert.equal(upload.sha, sha256(body));
    assert.equal(upload.contentLength, String(body.length), 'the Content-Length reaches the upstream');
  });

  test('a 5 MB chunked upload without a Content-Length arrives intact', async () => {
    const body = randomBytes(5 * MB);
    const uploadsBefore = streaming.uploads.length;
    const a = await new Promise<RawAnswer>((resolve, reject) => {
      const req = request(`${gw.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.subarray(i, i + 256 * 1024));
      req.end();
    });
    assert.equal(a.status, 200, a.body.toString());
    assert.equal(streaming.uploads.length, uploadsBefore + 1);
    assert.equal(streaming.uploads.at(-1)!.sha, sha256(body));
  });

  test('a 5 MB download arrives at the client byte for byte', async () => {
    streaming.download = randomBytes(5 * MB);
    const a = await rawRequest(`${gw.url}/download`, {});
    assert.equal(a.status, 200);
    assert.equal(a.body.length, streaming.download.length);
    assert.equal(sha256(a.body), sha256(streaming.download));
  });

  test('the upstream receives the first part of an upload before the client has sent the rest', async () => {
    const uploadsBefore = streaming.uploads.length;
    const first = randomBytes(64 * 1024);
    const rest = randomBytes(64 * 1024);
    const answer = new Promise<RawAnswer>((resolve, reject) => {
      const req = request(`${gw.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.write(first);
      // A buffering gateway would wait for the end of the body and this would time out.
      eventually('the first 64 KiB to reach the upstream', () => (streaming.uploads[uploadsBefore]?.received ?? 0) >= first.length)
        .then(() => req.end(rest), (err: unknown) => { req.destroy(); reject(err); });
    });
    const a = await answer;
    assert.equal(a.status, 200);
    assert.equal(streaming.uploads[uploadsBefore]!.sha, sha256(Buffer.concat([first, rest])));
  });

  test('the client receives the first part of a download before the upstream has sent the rest', async () => {
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(`${gw.url}/paused-download`, { agent: false }, (res) => {
        let total = 0;
        let released = false;
        res.on('data', (c: Buffer) => {
          total += c.length;
          // The upstream holds the rest back until the first part has reached this client.
          if (!released && total >= 64 * 1024) { released = true; streaming.releaseResponse!(); }
        });
        res.on('end', () => resolve(total));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('the first part of the download never arrived')));
      req.end();
    });
    assert.equal(received, 128 * 1024);
  });
});

describe('headers on the way to the upstream', () => {
  test('hop-by-hop request headers, and those listed in Connection, are not forwarded', async () => {
    const a = await rawRequest(`${gw.url}/echo`, {
      headers: {
        connection: 'keep-alive, x-hop-secret',
        'x-hop-secret': 'for the next hop only',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'example/1',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        'x-end-to-end': 'kept',
      },
    });
    assert.equal(a.status, 200);
    const seen = lastSeen(echo).headers;
    assert.equal(seen['x-end-to-end'], 'kept', 'an ordinary header is forwarded');
    for (const name of ['x-hop-secret', 'keep-alive', 'te', 'upgrade', 'proxy-authorization']) {
      assert.equal(seen[name], undefined, `${name} must not reach the upstream`);
    }
    assert.doesNotMatch(String(seen.connection ?? ''), /x-hop-secret/);
  });

  test('a websocket upgrade request is proxied as a plain request, without Upgrade or its Connection token', async () => {
    const a = await rawRequest(`${gw.url}/echo`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' } });
    assert.equal(a.status, 200);
    const seen = lastSeen(echo).headers;
    assert.equal(seen.upgrade, undefined);
    assert.doesNotMatch(String(seen.connection ?? ''), /upgrade/i);
    assert.equal(seen['sec-websocket-version'], '13', 'end-to-end headers still pass');
  });

  test('a request with Expect: 100-continue gets its 100 from the gateway and its body reaches the upstream', async () => {
    const body = Buffer.from(JSON.stringify({ note: 'z'.repeat(4000) }));
    const a = await new Promise<RawAnswer & { continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = request(`${gw.url}/echo`, { method: 'POST', agent: false, headers: { expect: '100-continue', 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), continued }));
      });
      req.on('continue', () => { continued = true; req.end(body); });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error('no answer to Expect: 100-continue')));
    });
    assert.equal(a.continued, true, 'the client was told to continue');
    assert.equal(a.status, 201, a.body.toString());
    const seen = lastSeen(echo);
    assert.equal(seen.body, body.toString());
    assert.equal(seen.headers.expect, undefined, 'the expectation was met by the gateway, not passed on');
  });

  test('hop-by-hop response headers, and those listed in Connection, are not relayed to the client', async () => {
    const a = await call(`${gw.url}/hop`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-visible'), 'yes');
    assert.equal(a.headers.get('x-upstream-private'), null);
    assert.equal(a.text, 'ok');
  });

  test('the upstream gets X-Forwarded-For/-Proto/-Host and the same X-Request-Id the client sees', async () => {
    const a = await call(`${gw.url}/echo?x=1`);
    assert.equal(a.status, 200);
    const seen = lastSeen(echo);
    const host = new URL(gw.url).host;
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], host);
    assert.match(String(seen.headers['x-request-id']), uuid);
    assert.equal(a.headers.get('x-request-id'), seen.headers['x-request-id']);
    assert.equal(seen.url, '/echo?x=1', 'the query string is forwarded');
  });

  test('a client-sent X-Forwarded-For is kept and the peer address appended', async () => {
    await call(`${gw.url}/echo`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    assert.equal(lastSeen(echo).headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  });

  test('a client-sent X-Request-Id is replaced by the gateway\'s own', async () => {
    const a = await call(`${gw.url}/echo`, { headers: { 'x-request-id': 'client-chosen-id' } });
    const id = a.headers.get('x-request-id');
    assert.match(id ?? '', uuid);
    assert.equal(lastSeen(echo).headers['x-request-id'], id);
  });

  test('every response carries a distinct X-Request-Id, proxied or refused', async () => {
    const answers = await Promise.all([
      call(`${gw.url}/echo`),
      call(`${gw.url}/documents/7`),
      call(`${gw.url}/no-such-route`),
      call(`${gw.url}/echo`, { method: 'DELETE' }),
      call(`${gw.url}/keyed`),
    ]);
    assert.deepEqual(answers.map((a) => a.status), [200, 403, 404, 405, 401]);
    const ids = answers.map((a) => a.headers.get('x-request-id') ?? '');
    for (const id of ids) assert.match(id, uuid);
    assert.equal(new Set(ids).size, ids.length);
    for (const a of answers.slice(2)) assert.equal(a.json.requestId, a.headers.get('x-request-id'), 'the problem body names the same request id');
  });

  test('identity headers sent by the client are stripped on a route without authentication', async () => {
    const a = await call(`${gw.url}/echo`, {
      headers: { 'x-consumer-id': 'admin', 'x-tenant-id': 'other-tenant', 'x-credential-id': 'forged', 'x-authenticated-scopes': 'admin:all', 'x-authenticated-subject': 'root' },
    });
    assert.equal(a.status, 200);
    const seen = lastSeen(echo).headers;
    for (const name of ['x-consumer-id', 'x-tenant-id', 'x-credential-id', 'x-authenticated-scopes', 'x-authenticated-subject']) {
      assert.equal(seen[name], undefined, `${name} from the client must not reach the upstream`);
    }
  });

  test('a forged X-Consumer-Id is replaced by the authenticated consumer, and the API key is not forwarded', async () => {
    const a = await call(`${gw.url}/keyed`, { headers: { 'x-api-key': KEY, 'x-consumer-id': 'admin' } });
    assert.equal(a.status, 200, a.text);
    const seen = lastSeen(echo).headers;
    assert.equal(seen['x-consumer-id'], 'acme-app');
    assert.equal(seen['x-tenant-id'], 'acme');
    assert.equal(seen['x-credential-id'], 'acme-key-1');
    assert.equal(seen['x-authenticated-scopes'], 'docs:read');
    assert.equal(seen['x-api-key'], undefined);
  });

  test('the API key is forwarded only on a route that sets forwardCredential', async () => {
    const a = await call(`${gw.url}/keyed-forwarding`, { headers: { 'x-api-key': KEY } });
    assert.equal(a.status, 200, a.text);
    assert.equal(lastSeen(echo).headers['x-api-key'], KEY);
  });
});

describe('answers from the upstream', () => {
  test('an upstream 403 is relayed unchanged and its trace says the upstream answered', async () => {
    const before = forbidding.seen.length;
    const a = await call(`${gw.url}/documents/42`);
    assert.equal(forbidding.seen.length, before + 1, 'the request reached the upstream');
    assert.equal(a.status, 403);
    assert.equal(a.text, '{"error":"only the owner may read this document"}');
    assert.equal(a.headers.get('content-type'), 'application/json', 'not turned into a gateway problem+json');
    assert.equal(a.headers.get('x-upstream-reason'), 'owner-only');
    const trace = await traceOf(a.headers.get('x-request-id')!);
    assert.equal(trace.answeredBy, 'upstream');
    assert.equal(trace.status, 403);
    assert.equal(trace.code, null);
    assert.equal(trace.deniedBy, null);
    assert.equal(trace.routeId, 'document');
    assert.equal(trace.upstream?.status, 403);
    assert.match(trace.upstream?.errorSample ?? '', /only the owner/);
  });

  test('a proxied 201 is traced as answered by the upstream with its attempt', async () => {
    const a = await call(`${gw.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    assert.equal(a.status, 201);
    assert.equal((a.json as { body: string }).body, '{"n":1}');
    const trace = await traceOf(a.headers.get('x-request-id')!);
    assert.equal(trace.answeredBy, 'upstream');
    assert.equal(trace.upstream?.name, 'echo');
    assert.deepEqual(trace.upstream?.attempts, [{ target: echo.url, status: 201 }]);
    assert.equal(trace.configVersion, gw.gateway.current().version);
  });
});
