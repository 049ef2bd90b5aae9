import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertWellFormedAnswer, problemCode, rawRequest, startDemoGateway, type DemoUnderTest } from './support.ts';

// Path confusion against every policy of the demo config: a spelling of a protected path
// must meet that path's policy (or be refused as malformed / not found), and a spelling
// must never be a way around a per-path counter. The recording upstream shows what was
// actually forwarded.

let d: DemoUnderTest;
before(async () => { d = await startDemoGateway(); });
after(async () => { await d.close(); });

const get = (path: string, key = 'pk_demo_writer', extra: string[] = []) => rawRequest(d.port, `GET ${path} HTTP/1.1`, [`X-API-Key: ${key}`, ...extra]);

describe('/api/internal/report (ipAllow 10.0.0.0/8)', () => {
  const spellings = [
    '/api/internal/report', '/api/internal/./report', '/api/internal//report', '//api/internal/report', '/api/x/../internal/report',
    '/api/%69nternal/report', '/api/internal/%72%65%70%6f%72%74', '/%61%70%69/internal/report', '/api/internal/report/.',
    '/api/orders/../internal/report', '/api/public/health/../../internal/report', '/api/internal/%2e/report', '/api/internal/x/%2e%2e/report',
    '/api/internal/x/%2E%2E/report', '/api/./././internal/report', '/api/orders/%2e%2e/internal/report',
  ];
  for (const p of spellings) {
    test(`${p} is 403 ip_not_allowed from loopback`, async () => {
      const a = await get(p);
      assertWellFormedAnswer(a, p);
      assert.equal(problemCode(a), 'ip_not_allowed', `${p}: ${a.status} ${a.body}`);
    });
  }

  const refused = ['/api/internal%2freport', '/api/internal%2Freport', '/api/internal\\report', '/api/internal%5creport', '/api/internal/report%00', '/api/internal/report%00.json', '/api/../../internal/report', '/api/internal/%c0%ae%c0%ae/report'];
  for (const p of refused) {
    test(`${p} is refused (400 request_malformed or 404), never forwarded`, async () => {
      const before = d.forwarded().length;
      const a = await get(p);
      assertWellFormedAnswer(a, p);
      assert.ok(['request_malformed', 'route_not_found'].includes(problemCode(a) ?? ''), `${p}: ${a.status} ${a.body}`);
      assert.equal(d.forwarded().length, before);
    });
  }

  test('a spoofed X-Forwarded-For (or X-Real-IP, Forwarded) from an untrusted peer does not satisfy the allow-list', async () => {
    for (const h of ['X-Forwarded-For: 10.0.0.1', 'X-Forwarded-For: 10.0.0.1, 10.0.0.2', 'X-Real-IP: 10.0.0.1', 'Forwarded: for=10.0.0.1', 'X-Forwarded-For: 127.0.0.1, 10.0.0.1']) {
      const a = await get('/api/internal/report', 'pk_demo_writer', [h]);
      assert.equal(problemCode(a), 'ip_not_allowed', h);
    }
  });

  test('case variants name other routes: 404, never the report', async () => {
    for (const p of ['/API/internal/report', '/api/Internal/report', '/api/internal/REPORT']) {
      const a = await get(p);
      assert.equal(problemCode(a), 'route_not_found', p);
    }
  });
});

describe('/api/orders scopes', () => {
  const post = (path: string, key: string) => rawRequest(d.port, `POST ${path} HTTP/1.1`, [`X-API-Key: ${key}`, 'Content-Type: application/json', 'Content-Length: 2'], '{}');
  for (const p of ['/api/orders', '/api/./orders', '/api/%6frders', '/api/x/../orders', '/api//orders', '/api/orders?scope=orders:write', '/api/orders/.']) {
    test(`POST ${p} with the read-only key is 403 insufficient_scope (or 404), never 201`, async () => {
      const a = await post(p, 'pk_demo_reader');
      assertWellFormedAnswer(a, p);
      assert.notEqual(a.status, 201);
      assert.ok(['insufficient_scope', 'route_not_found', 'method_not_allowed'].includes(problemCode(a) ?? ''), `${p}: ${a.status} ${a.body}`);
    });
  }

  test('a parameter that spells a path is one segment: /api/orders/1%2f..%2f..%2finternal%2freport is 400', async () => {
    const a = await get('/api/orders/1%2f..%2f..%2finternal%2freport');
    assert.equal(problemCode(a), 'request_malformed');
  });

  test('an id with dot-segments resolves before matching: /api/orders/1/.. is the collection, not order ".."', async () => {
    const before = d.forwarded().length;
    const a = await get('/api/orders/1/..');
    assert.equal(a.status, 200);
    assert.equal(d.forwarded()[before]?.url, '/api/orders');
  });

  test('identity headers sent by the client are never forwarded as if the gateway had set them', async () => {
    const a = await rawRequest(d.port, 'GET /api/orders HTTP/1.1', ['X-API-Key: pk_demo_reader', 'X-Consumer-Id: acme-writer', 'X-Authenticated-Scopes: orders:write', 'X-Tenant-Id: globex', 'X-Credential-Id: key_demo_writer']);
    assert.equal(a.status, 200);
    const seen = (JSON.parse(a.body) as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-consumer-id'], 'acme-reader');
    assert.equal(seen['x-authenticated-scopes'], 'orders:read');
    assert.equal(seen['x-tenant-id'], 'acme');
    assert.equal(seen['x-credential-id'], 'key_demo_reader');
    assert.equal(seen['x-api-key'], undefined, 'the key itself is not forwarded');
  });
});

describe('/api/limited (3 per 60 s per key)', () => {
  test('spellings of the path share one counter: the 4th request is 429 whatever the spelling', async () => {
    const spellings = ['/api/limited', '/api/%6cimited', '/api/./limited', '/api//limited', '/api/x/../limited', '/api/limited?x=1'];
    const statuses: number[] = [];
    for (const p of spellings) statuses.push((await get(p, 'pk_demo_reader')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.deepEqual(statuses.slice(3), [429, 429, 429]);
  });

  test('the key cannot be varied to get a fresh counter: padded or cased keys are not keys', async () => {
    for (const k of ['pk_demo_reader ', ' pk_demo_reader', 'PK_DEMO_READER', 'pk_demo_reader\t']) {
      const a = await get('/api/limited', k);
      assert.ok(a.status === 429 || a.status === 401, `${JSON.stringify(k)}: ${a.status} ${a.body}`);
    }
  });
});

describe('methods and the public route', () => {
  test('DELETE /api/orders is 405 with Allow whatever the spelling', async () => {
    for (const p of ['/api/orders', '/api/./orders', '/api/%6frders']) {
      const a = await rawRequest(d.port, `DELETE ${p} HTTP/1.1`, ['X-API-Key: pk_demo_writer']);
      assert.equal(problemCode(a), 'method_not_allowed', p);
      assert.equal(a.headers.allow, 'GET, POST');
    }
  });

  test('method case and override headers do not change the method that is checked', async () => {
    const lower = await rawRequest(d.port, 'post /api/orders HTTP/1.1', ['X-API-Key: pk_demo_reader', 'Content-Length: 0']);
    assert.notEqual(lower.status, 201);
    const override = await rawRequest(d.port, 'POST /api/orders HTTP/1.1', ['X-API-Key: pk_demo_reader', 'X-HTTP-Method-Override: GET', 'Content-Type: application/json', 'Content-Length: 2'], '{}');
    assert.equal(problemCode(override), 'insufficient_scope');
  });

  test('the public health route does not extend to what follows it', async () => {
    const a = await rawRequest(d.port, 'GET /api/public/health/../../orders HTTP/1.1', []);
    assert.equal(problemCode(a), 'credential_missing');
    const b = await rawRequest(d.port, 'GET /api/public/health/x HTTP/1.1', []);
    assert.equal(problemCode(b), 'route_not_found');
  });

  test('absolute-form and asterisk-form request targets are answered without bypass', async () => {
    const abs = await rawRequest(d.port, 'GET http://127.0.0.1/api/internal/report HTTP/1.1', ['X-API-Key: pk_demo_writer']);
    assertWellFormedAnswer(abs, 'absolute-form');
    assert.notEqual(abs.status, 200);
    const star = await rawRequest(d.port, 'OPTIONS * HTTP/1.1', []);
    assertWellFormedAnswer(star, 'asterisk-form');
  });
});
