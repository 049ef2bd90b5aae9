import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startGateway } from '../../src/server/gateway.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';

// Address filtering over real loopback connections: the peer is 127.0.0.1 (or ::1), and
// X-Forwarded-For counts only when the peer is a configured trusted proxy.

const routes = [
  { id: 'internal', path: '/internal', methods: ['GET'], upstream: 'backend', ipAllow: ['10.0.0.0/8'] },
  { id: 'loopback-but-not-me', path: '/blocked', methods: ['GET'], upstream: 'backend', ipAllow: ['127.0.0.0/8'], ipDeny: ['127.0.0.1/32'] },
  { id: 'loopback', path: '/loopback', methods: ['GET'], upstream: 'backend', ipAllow: ['127.0.0.0/8', '::1/128'] },
  { id: 'not-quarantine', path: '/partners', methods: ['GET'], upstream: 'backend', ipDeny: ['10.66.0.0/16'] },
];

describe('ip filter without trusted proxies', () => {
  let upstream: TestUpstream;
  let t: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    t = await startTestGateway({ upstreams: { backend: { targets: [{ url: upstream.url }] } }, routes });
  });
  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  test('a loopback client on a route that allows only 10.0.0.0/8 gets 403 ip_not_allowed', async () => {
    const seen = upstream.seen.length;
    const a = await call(`${t.url}/internal`);
    assertProblem(a, 403, 'ip_not_allowed');
    assert.match(String(a.json.detail), /127\.0\.0\.1/);
    assert.equal(a.headers.get('www-authenticate'), null, 'an address refusal is not an authentication challenge');
    assert.equal(upstream.seen.length, seen);
    const trace = await traceOf(t, a);
    assert.equal(trace.deniedBy, 'ip-filter');
    assert.equal(checkRecord(trace, 'ip-filter').evidence?.list, 'allow');
    assert.match(checkRecord(trace, 'ip-filter').rule?.path ?? '', /ipAllow/);
  });

  test('an address on both the allow-list and the deny-list is refused: the deny-list wins', async () => {
    const a = await call(`${t.url}/blocked`);
    assertProblem(a, 403, 'ip_not_allowed');
    const evidence = checkRecord(await traceOf(t, a), 'ip-filter').evidence ?? {};
    assert.equal(evidence.list, 'deny');
    assert.equal(evidence.matched, '127.0.0.1/32');
  });

  test('a loopback client on a route that allows loopback reaches the upstream', async () => {
    const a = await call(`${t.url}/loopback`);
    assert.equal(a.status, 200, a.text);
  });

  test('X-Forwarded-For from an untrusted peer is ignored: claiming 10.1.2.3 does not get past a 10.0.0.0/8 allow-list', async () => {
    const a = await call(`${t.url}/internal`, { headers: { 'x-forwarded-for': '10.1.2.3' } });
    assertProblem(a, 403, 'ip_not_allowed');
    const trace = await traceOf(t, a);
    assert.equal(trace.clientIp, '127.0.0.1');
    assert.equal(trace.clientIpVia, 'peer');
  });

  test('X-Forwarded-For from an untrusted peer cannot dodge a deny-list either', async () => {
    const a = await call(`${t.url}/blocked`, { headers: { 'x-forwarded-for': '127.0.0.2' } });
    assertProblem(a, 403, 'ip_not_allowed');
  });
});

describe('ip filter behind a trusted proxy on 127.0.0.1', () => {
  let upstream: TestUpstream;
  let t: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    t = await startTestGateway({
      gateway: { trustedProxies: ['127.0.0.1/32'], ipDeny: ['192.0.2.0/24'] },
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      routes,
    });
  });
  after(async () => {
    await t?.close();
    await upstream?.close();
  });

  test('the client address in X-Forwarded-For is honoured when the peer is a trusted proxy', async () => {
    const a = await call(`${t.url}/internal`, { headers: { 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1', 'the proxy chain is extended, not replaced');
    const trace = await traceOf(t, a);
    assert.equal(trace.clientIp, '10.1.2.3');
    assert.equal(trace.clientIpVia, 'x-forwarded-for');
    assert.equal(trace.peerIp, '127.0.0.1');
  });

  test('an address prepended by the client to X-Forwarded-For is not believed: the first untrusted hop is the client', async () => {
    const a = await call(`${t.url}/internal`, { headers: { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' } });
    assertProblem(a, 403, 'ip_not_allowed');
    assert.equal((await traceOf(t, a)).clientIp, '203.0.113.9');
  });

  test('without X-Forwarded-For the trusted proxy itself is the client', async () => {
    const a = await call(`${t.url}/internal`);
    assertProblem(a, 403, 'ip_not_allowed');
    assert.equal((await traceOf(t, a)).clientIp, '127.0.0.1');
  });

  test('a forwarded client on a route deny-list gets 403 ip_not_allowed', async () => {
    const a = await call(`${t.url}/partners`, { headers: { 'x-forwarded-for': '10.66.4.2' } });
    assertProblem(a, 403, 'ip_not_allowed');
    const ok = await call(`${t.url}/partners`, { headers: { 'x-forwarded-for': '10.67.4.2' } });
    assert.equal(ok.status, 200, ok.text);
  });

  test('the gateway-wide deny-list refuses a forwarded client on every route, before the route lists', async () => {
    const a = await call(`${t.url}/partners`, { headers: { 'x-forwarded-for': '192.0.2.7' } });
    assertProblem(a, 403, 'ip_not_allowed');
    const trace = await traceOf(t, a);
    assert.equal(trace.deniedBy, 'ip-filter:gateway');
    assert.match(checkRecord(trace, 'ip-filter:gateway').rule?.path ?? '', /gateway.*ipDeny/);
  });

  test('a garbage X-Forwarded-For entry stops the walk at the trusted peer', async () => {
    const a = await call(`${t.url}/internal`, { headers: { 'x-forwarded-for': '10.1.2.3, not-an-ip' } });
    assertProblem(a, 403, 'ip_not_allowed');
    assert.equal((await traceOf(t, a)).clientIp, '127.0.0.1');
  });
});

describe('ip filter on an IPv6 loopback listener', () => {
  test('a client on ::1 is matched against IPv6 entries, not IPv4 loopback ones', async (tc) => {
    const upstream = await startUpstream();
    tc.after(() => upstream.close());
    const dir = mkdtempSync(join(tmpdir(), 'pinpoint-ip6-'));
    let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
    // One hook, in order: the gateway's log writer must be closed before its directory goes.
    tc.after(async () => {
      await gateway?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const configFile = join(dir, 'pinpoint.yaml');
    writeFileSync(configFile, stringify({
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      routes: [
        { id: 'v6', path: '/v6', methods: ['GET'], upstream: 'backend', ipAllow: ['::1/128'] },
        { id: 'v4-only', path: '/v4', methods: ['GET'], upstream: 'backend', ipAllow: ['127.0.0.0/8'] },
      ],
    }));
    try {
      gateway = await startGateway({ configFile, databaseFile: join(dir, 'pinpoint.db'), logger: silentLogger, port: 0, host: '::1' });
    } catch (err) {
      tc.skip(`no IPv6 loopback here: ${(err as Error).message}`);
      return;
    }
    assert.match(gateway.url, /^http:\/\/\[::1\]:\d+$/);
    const ok = await call(`${gateway.url}/v6`);
    assert.equal(ok.status, 200, ok.text);
    const refused = await call(`${gateway.url}/v4`);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.code, 'ip_not_allowed');
    assert.match(String(refused.json.detail), /::1/);
  });
});
