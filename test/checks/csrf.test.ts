import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';
import { KEY, login, postProfile, webConfig, type Session } from '../web/web-support.ts';

let upstream: TestUpstream;
let t: TestGateway;
let alice: Session;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway(webConfig(upstream.url));
  alice = await login(t.url);
  assert.equal(alice.answer.status, 200, alice.answer.text);
});

after(async () => {
  await t.close();
  await upstream.close();
});

describe('CSRF tokens on a cookie-session route', () => {
  test('a POST with the session and its token in X-CSRF-Token reaches the upstream', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token });
    assert.equal(a.status, 201, a.text);
    assert.equal(upstream.seen.at(-1)!.headers['x-authenticated-subject'], 'alice');
  });

  test('a form POST with the token in the csrf_token field reaches the upstream with the body intact', async () => {
    const body = `name=Alice&csrf_token=${encodeURIComponent(alice.token)}`;
    const a = await postProfile(t.url, alice, {}, body);
    assert.equal(a.status, 201, a.text);
    assert.equal(upstream.seen.at(-1)!.body, body, 'the buffered body is forwarded byte for byte');
  });

  test('a POST without a token gets 403 csrf_token_missing naming where it looked', async () => {
    const before = upstream.seen.length;
    const a = await postProfile(t.url, alice);
    assertProblem(a, 403, 'csrf_token_missing');
    assert.equal(upstream.seen.length, before, 'the upstream never sees a refused request');
    const rec = checkRecord(await traceOf(t, a), 'csrf');
    assert.deepEqual(rec.evidence?.looked_in, ['header x-csrf-token', 'form field csrf_token']);
  });

  test('a wrong token gets 403 csrf_token_invalid', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': 'forged.1999999999.c2lnbmF0dXJl' });
    assertProblem(a, 403, 'csrf_token_invalid');
    assert.match(String(checkRecord(await traceOf(t, a), 'csrf').evidence?.problem), /differs from the pp_csrf cookie/);
  });

  test('a token issued to another session is refused even when cookie and header agree', async () => {
    const bob = await login(t.url, 'bob');
    const sessionOnly = alice.cookieHeader.split('; ').find((c) => c.startsWith('pp_session='))!;
    const a = await call(`${t.url}/web/profile`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${sessionOnly}; pp_csrf=${bob.token}`, 'x-csrf-token': bob.token }, body: 'x=1',
    });
    assertProblem(a, 403, 'csrf_token_invalid');
    assert.match(String(checkRecord(await traceOf(t, a), 'csrf').evidence?.problem), /another session/);
  });

  test('a header token without the CSRF cookie fails the double submit', async () => {
    const sessionOnly = alice.cookieHeader.split('; ').find((c) => c.startsWith('pp_session='))!;
    const a = await call(`${t.url}/web/profile`, { method: 'POST', headers: { cookie: sessionOnly, 'x-csrf-token': alice.token, 'content-type': 'text/plain' }, body: 'x' });
    assertProblem(a, 403, 'csrf_token_invalid');
    assert.match(String(checkRecord(await traceOf(t, a), 'csrf').evidence?.problem), /cookie is missing/);
  });

  test('DELETE is state-changing too and needs the token', async () => {
    const a = await call(`${t.url}/web/profile`, { method: 'DELETE', headers: { cookie: alice.cookieHeader } });
    assertProblem(a, 403, 'csrf_token_missing');
  });
});

describe('Fetch Metadata and Origin verification', () => {
  test('Sec-Fetch-Site: cross-site gets 403 cross_site_request even with a valid token', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token, 'sec-fetch-site': 'cross-site' });
    assertProblem(a, 403, 'cross_site_request');
  });

  test('a foreign Origin gets 403 cross_site_request and the trace lists the trusted origins', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token, origin: 'http://evil.example' });
    assertProblem(a, 403, 'cross_site_request');
    const ev = checkRecord(await traceOf(t, a), 'csrf').evidence!;
    assert.equal(ev.origin, 'http://evil.example');
    assert.deepEqual(ev.trusted_origins, [`self (${t.url})`]);
  });

  test('an opaque Origin (null, e.g. from a sandboxed iframe) is refused', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token, origin: 'null' });
    assertProblem(a, 403, 'cross_site_request');
  });

  test('without Origin, a foreign Referer is refused', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token, referer: 'https://evil.example/page?x=1' });
    assertProblem(a, 403, 'cross_site_request');
  });

  test('same-site but not same-origin without an Origin header is refused', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token, 'sec-fetch-site': 'same-site' });
    assertProblem(a, 403, 'cross_site_request');
  });

  test('the gateway\'s own origin with Sec-Fetch-Site: same-origin and the token passes', async () => {
    const a = await postProfile(t.url, alice, { 'x-csrf-token': alice.token, origin: t.url, 'sec-fetch-site': 'same-origin', referer: `${t.url}/web/page` });
    assert.equal(a.status, 201, a.text);
  });

  test('safe methods are never refused, even cross-site', async () => {
    const a = await call(`${t.url}/web/profile`, { headers: { cookie: alice.cookieHeader, 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' } });
    assert.equal(a.status, 200, a.text);
    assert.equal(checkRecord(await traceOf(t, a), 'csrf').outcome, 'continue');
  });

  test('a login form posted from another site is refused (login CSRF)', async () => {
    const s = await login(t.url, 'alice', { origin: 'http://evil.example' });
    assertProblem(s.answer, 403, 'cross_site_request');
    assert.equal(s.setCookies.length, 0, 'no session is issued');
  });
});

describe('routes authenticated by headers are exempt', () => {
  test('an API-key route has no CSRF check: a cross-site POST without token passes', async () => {
    const a = await call(`${t.url}/api/things`, { method: 'POST', headers: { 'x-api-key': KEY, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(a.status, 201, a.text);
    assert.equal((await traceOf(t, a)).checks.some((c) => c.id === 'csrf'), false);
  });

  test('on a route accepting a key or a session, the key is exempt and the session is not', async () => {
    const withKey = await call(`${t.url}/api/mixed`, { method: 'POST', headers: { 'x-api-key': KEY, origin: 'http://evil.example' }, body: 'x' });
    assert.equal(withKey.status, 201, withKey.text);
    assert.equal(checkRecord(await traceOf(t, withKey), 'csrf').outcome, 'continue');
    const withCookie = await call(`${t.url}/api/mixed`, { method: 'POST', headers: { cookie: alice.cookieHeader, origin: 'http://evil.example' }, body: 'x' });
    assertProblem(withCookie, 403, 'cross_site_request');
  });
});

describe('token expiry', () => {
  test('a token past web.csrfTtlSeconds gets 403 csrf_token_expired while the session is still valid', async () => {
    const short = await startTestGateway(webConfig(upstream.url, { csrfTtlSeconds: 1 }));
    try {
      const s = await login(short.url);
      await new Promise((r) => setTimeout(r, 1100));
      const a = await postProfile(short.url, s, { 'x-csrf-token': s.token });
      assertProblem(a, 403, 'csrf_token_expired');
      const got = await call(`${short.url}/web/profile`, { headers: { cookie: s.cookieHeader } });
      assert.equal(got.status, 200, 'the session itself has not expired');
    } finally {
      await short.close();
    }
  });
});
