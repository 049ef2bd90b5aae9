import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, traceOf } from '../support/assertions.ts';
import { login, webConfig } from './web-support.ts';

let upstream: TestUpstream;
let t: TestGateway;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway(webConfig(upstream.url));
});

after(async () => {
  await t.close();
  await upstream.close();
});

const attrs = (setCookie: string) => setCookie.split(';').slice(1).map((a) => a.trim());

describe('the login endpoint', () => {
  test('answers the CSRF token as csrfToken and sets the session and CSRF cookies, without contacting the upstream', async () => {
    const before = upstream.seen.length;
    const s = await login(t.url);
    assert.equal(s.answer.status, 200, s.answer.text);
    assert.equal(s.answer.json.user, 'alice');
    assert.match(s.token, /^[\w-]+\.\d+\.[\w-]+$/);
    const csrfCookie = s.setCookies.find((c) => c.startsWith('pp_csrf='))!;
    assert.equal(csrfCookie.split(';', 1)[0], `pp_csrf=${s.token}`, 'the cookie and the JSON carry the same token (double submit)');
    assert.equal(upstream.seen.length, before);
    assert.equal(s.answer.headers.get('cache-control'), 'no-store');
  });

  test('the session cookie is HttpOnly and SameSite=Lax, and not Secure over plain HTTP', async () => {
    const s = await login(t.url);
    const session = attrs(s.setCookies.find((c) => c.startsWith('pp_session='))!);
    assert.ok(session.includes('HttpOnly'));
    assert.ok(session.includes('SameSite=Lax'));
    assert.ok(session.includes('Path=/'));
    assert.ok(session.includes('Max-Age=3600'));
    assert.ok(!session.includes('Secure'), 'a Secure cookie would never come back over http');
    const csrf = attrs(s.setCookies.find((c) => c.startsWith('pp_csrf='))!);
    assert.ok(!csrf.includes('HttpOnly'), 'the page script must read the CSRF cookie to echo it');
    assert.ok(csrf.includes('SameSite=Lax'));
  });

  test('with secureCookies auto, a request from a trusted proxy over HTTPS gets Secure cookies', async () => {
    const s = await login(t.url, 'alice', { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' });
    for (const c of s.setCookies) assert.ok(attrs(c).includes('Secure'), c);
  });

  test('an X-Forwarded-Proto from a client that is not a trusted proxy does not count', async () => {
    const other = await startTestGateway({ ...webConfig(upstream.url), gateway: { port: 0 } });
    try {
      const s = await login(other.url, 'alice', { 'x-forwarded-proto': 'https' });
      for (const c of s.setCookies) assert.ok(!attrs(c).includes('Secure'), c);
    } finally { await other.close(); }
  });

  test('secureCookies always and sameSite Strict are honoured', async () => {
    const strict = await startTestGateway(webConfig(upstream.url, { secureCookies: 'always', sameSite: 'Strict' }));
    try {
      const s = await login(strict.url);
      for (const c of s.setCookies) {
        assert.ok(attrs(c).includes('Secure'), c);
        assert.ok(attrs(c).includes('SameSite=Strict'), c);
      }
    } finally { await strict.close(); }
  });

  test('a JSON login body works too', async () => {
    const a = await call(`${t.url}/web/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"bob"}' });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json.user, 'bob');
  });

  test('an unknown user gets 401 credential_unknown and no cookie', async () => {
    const s = await login(t.url, 'mallory');
    assertProblem(s.answer, 401, 'credential_unknown');
    assert.equal(s.setCookies.length, 0);
  });

  test('a login without a user gets 400 body_invalid naming $.user', async () => {
    const a = await call(`${t.url}/web/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=alice' });
    assertProblem(a, 400, 'body_invalid');
    const trace = await traceOf(t, a);
    assert.match(JSON.stringify(trace.checks.at(-1)?.evidence), /\$\.user/);
  });
});

describe('the session cookie', () => {
  test('authenticates GET on a session route and identifies the user to the upstream', async () => {
    const s = await login(t.url, 'bob');
    const a = await call(`${t.url}/web/profile`, { headers: { cookie: s.cookieHeader } });
    assert.equal(a.status, 200, a.text);
    assert.equal(upstream.seen.at(-1)!.headers['x-authenticated-subject'], 'bob');
    assert.match(String(upstream.seen.at(-1)!.headers['x-credential-id']), /^session:/);
  });

  test('without it the route answers 401 credential_missing with a cookie challenge', async () => {
    const a = await call(`${t.url}/web/profile`);
    assertProblem(a, 401, 'credential_missing');
    assert.match(a.headers.get('www-authenticate') ?? '', /Cookie realm="pinpoint", cookie="pp_session"/);
  });

  test('a tampered session cookie gets 401 token_signature_invalid', async () => {
    const s = await login(t.url, 'bob');
    const forged = s.cookieHeader.replace(/pp_session=([^.]+)\.([^.]+)\./, (_m, sid: string) => `pp_session=${sid}.${Buffer.from('alice').toString('base64url')}.`);
    const a = await call(`${t.url}/web/profile`, { headers: { cookie: forged } });
    assertProblem(a, 401, 'token_signature_invalid');
  });

  test('a session signed with another secret is refused', async () => {
    const other = await startTestGateway(webConfig(upstream.url, { secret: 'another-secret-0123456789-abcdefghijklmnopqrstuvwxyz' }));
    try {
      const s = await login(other.url);
      const a = await call(`${t.url}/web/profile`, { headers: { cookie: s.cookieHeader } });
      assertProblem(a, 401, 'token_signature_invalid');
    } finally { await other.close(); }
  });

  test('an expired session gets 401 credential_expired', async () => {
    const short = await startTestGateway(webConfig(upstream.url, { sessionTtlSeconds: 1 }));
    try {
      const s = await login(short.url);
      await new Promise((r) => setTimeout(r, 1100));
      const a = await call(`${short.url}/web/profile`, { headers: { cookie: s.cookieHeader } });
      assertProblem(a, 401, 'credential_expired');
    } finally { await short.close(); }
  });
});

describe('web config errors', () => {
  test('a session route without the web block is refused at load with its location', async () => {
    const cfg = webConfig(upstream.url) as Record<string, unknown>;
    delete cfg.web;
    await assert.rejects(startTestGateway(cfg), /routes\[0\]\.session: session needs the top-level web block/);
  });

  test('a trusted origin with a path or trailing slash is refused at load', async () => {
    await assert.rejects(startTestGateway(webConfig(upstream.url, { trustedOrigins: ['self', 'https://app.example.com/'] })), /web\.trustedOrigins\[1\]: an origin: scheme:\/\/host\[:port\], no path or trailing slash/);
  });

  test('a web secret shorter than 32 characters is refused at load', async () => {
    await assert.rejects(startTestGateway(webConfig(upstream.url, { secret: 'short' })), /web\.secret: at least 32 characters/);
  });

  test('a CSRF token check without a session route is refused at load', async () => {
    const cfg = webConfig(upstream.url, {}, [{ id: 'bad', path: '/bad', methods: ['POST'], upstream: 'up', auth: ['apiKey'], csrf: { token: true } }]);
    await assert.rejects(startTestGateway(cfg), /routes\[4\]\.csrf: a CSRF token is bound to a session/);
  });
});
