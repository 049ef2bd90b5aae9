import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, startUpstream, keyEntry, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, rawCall, traceOf } from '../support/assertions.ts';

// Path tricks that have bypassed gateways and WAFs, each sent over a real socket exactly as
// written (no client-side normalization): every one is either judged by the policy of the
// route it really addresses, or refused.

const KEY = 'pk_path_test';
let upstream: TestUpstream;
let t: TestGateway;
let folded: TestGateway;

const config = (caseInsensitivePaths: boolean) => ({
  gateway: { port: 0, caseInsensitivePaths },
  upstreams: { up: { targets: [{ url: upstream.url }] } },
  consumers: [{ id: 'c1', keys: [keyEntry(KEY, 'k1')] }],
  routes: [
    { id: 'admin', path: '/api/admin', methods: ['GET'], upstream: 'up', auth: ['apiKey'], scopes: { GET: ['admin'] } },
    { id: 'public', path: '/api/public/**', methods: ['GET'], upstream: 'up' },
    { id: 'order', path: '/api/orders/{id}', methods: ['GET'], upstream: 'up', auth: ['apiKey'] },
  ],
});

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway(config(false));
  folded = await startTestGateway(config(true));
});

after(async () => {
  await t.close();
  await folded.close();
  await upstream.close();
});

const get = (g: TestGateway, path: string, headers: string[] = []) => rawCall(g.url, path, headers);

/** Refused by the admin route's own policy: the caller is anonymous, so 401. */
async function judgedAsAdmin(g: TestGateway, a: Answer): Promise<void> {
  assertProblem(a, 401, 'credential_missing');
  const trace = await traceOf(g, a);
  assert.equal(trace.routeId, 'admin');
  assert.equal(trace.path, '/api/admin');
}

describe('dot segments in every encoding reach the admin route\'s policy, never the public one', () => {
  for (const path of [
    '/api/public/../admin', '/api/public/%2e%2e/admin', '/api/public/%2E%2E/admin', '/api/public/.%2e/admin',
    '/api/public/%2e./admin', '/api/./admin', '/api/public/./../admin', '//api//admin', '/api/public/x/../../admin',
  ]) {
    test(`${path} is judged by the admin route`, async () => {
      const before = upstream.seen.length;
      await judgedAsAdmin(t, await get(t, path));
      assert.equal(upstream.seen.length, before);
    });
  }

  test('with a key lacking the admin scope it is 403 insufficient_scope, as for /api/admin itself', async () => {
    const a = await get(t, '/api/public/%2e%2e/admin', ['x-api-key', KEY]);
    assertProblem(a, 403, 'insufficient_scope');
    assert.equal((await traceOf(t, a)).routeId, 'admin');
  });
});

describe('paths servers read differently are refused with 400 path_ambiguous', () => {
  for (const path of [
    '/api/public/%252e%252e/admin', '/api/public/%252E%252E%252Fadmin', '/api/public/..;/admin', '/api/public/..%3b/admin',
    '/api/admin;jsessionid=abc', '/api/public;/../admin', '/api/public/%EF%BC%8E%EF%BC%8E/admin',
  ]) {
    test(`${path} -> 400 path_ambiguous`, async () => {
      const before = upstream.seen.length;
      const a = await get(t, path);
      assertProblem(a, 400, 'path_ambiguous');
      assert.equal(upstream.seen.length, before);
      const trace = await traceOf(t, a);
      assert.equal(trace.deniedBy, 'router');
    });
  }
});

describe('malformed paths are refused with 400 request_malformed', () => {
  for (const path of ['/api/public/..%2fadmin', '/api/public/..%5cadmin', '/api/public/..\\admin', '/api/public/..%00/admin', '/%2e%2e/api/admin', '/api/public/%c0%ae%c0%ae/admin', '/api/public/%u002e%u002e/admin']) {
    test(`${JSON.stringify(path)} -> 400 request_malformed`, async () => {
      const before = upstream.seen.length;
      assertProblem(await get(t, path), 400, 'request_malformed');
      assert.equal(upstream.seen.length, before);
    });
  }
});

describe('letter case', () => {
  test('without caseInsensitivePaths, /API/Admin matches no route (404) and so reaches nothing', async () => {
    const before = upstream.seen.length;
    assertProblem(await get(t, '/API/Admin'), 404, 'route_not_found');
    assert.equal(upstream.seen.length, before);
  });

  test('with caseInsensitivePaths, /API/Admin and /Api/Public/../ADMIN are judged by the admin route', async () => {
    await judgedAsAdmin(folded, await get(folded, '/API/Admin'));
    await judgedAsAdmin(folded, await get(folded, '/Api/Public/%2E%2E/ADMIN'));
  });

  test('with caseInsensitivePaths, the upstream receives the canonical lower-case path it was authorized for', async () => {
    const a = await get(folded, '/API/Public/Docs/../Index.HTML');
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.url, '/api/public/index.html');
  });
});

describe('what is forwarded is what was authorized', () => {
  test('the upstream receives the canonical path, never the raw one', async () => {
    const a = await get(t, '/api/public/a/%2e%2e/b//c/./d%20e');
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.url, '/api/public/b/c/d%20e');
  });

  test('a parameter cannot smuggle a dot segment: /api/orders/%2e%2e is /api, which has no route', async () => {
    assertProblem(await get(t, '/api/orders/%2e%2e', ['x-api-key', KEY]), 404, 'route_not_found');
  });
});
