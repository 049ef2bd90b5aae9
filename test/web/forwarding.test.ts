import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { KEY, login, postProfile, webConfig, type Session } from './web-support.ts';

// The gateway's session and CSRF cookies are its credentials, like an API key: the upstream
// learns who the user is from the identity headers, never from a cookie it could replay.

let upstream: TestUpstream;
let t: TestGateway;
let alice: Session;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway(webConfig(upstream.url, {}, [
    { id: 'profile-forwarding', path: '/web/profile-forwarding', methods: ['GET', 'POST'], upstream: 'up', session: { mode: 'required' }, forwardCredential: true },
  ]));
  alice = await login(t.url);
  assert.match(alice.cookieHeader, /^pp_session=[^;]+; pp_csrf=[^;]+$/);
});

after(async () => {
  await t.close();
  await upstream.close();
});

const lastSeen = () => upstream.seen.at(-1)!;
const withTheme = () => `theme=dark; ${alice.cookieHeader}; lang="en-GB"`;

describe('what the upstream receives behind a session route', () => {
  test('a GET after login forwards neither pp_session nor pp_csrf, but a foreign cookie arrives intact', async () => {
    const a = await call(`${t.url}/web/profile`, { headers: { cookie: withTheme() } });
    assert.equal(a.status, 200, a.text);
    assert.equal(lastSeen().headers.cookie, 'theme=dark; lang="en-GB"');
  });

  test('a POST with its CSRF token forwards no session cookie, no CSRF cookie and no X-CSRF-Token header', async () => {
    const a = await postProfile(t.url, { ...alice, cookieHeader: withTheme() }, { 'x-csrf-token': alice.token });
    assert.equal(a.status, 201, a.text);
    const seen = lastSeen();
    assert.equal(seen.method, 'POST');
    assert.equal(seen.headers.cookie, 'theme=dark; lang="en-GB"');
    assert.equal(seen.headers['x-csrf-token'], undefined);
    assert.equal(seen.body, 'name=Alice');
  });

  test('the upstream learns the user from the identity headers instead', async () => {
    const a = await call(`${t.url}/web/profile`, { headers: { cookie: alice.cookieHeader } });
    assert.equal(a.status, 200, a.text);
    const seen = lastSeen().headers;
    assert.equal(seen['x-authenticated-subject'], 'alice');
    assert.match(String(seen['x-credential-id']), /^session:/);
  });

  test('when only the gateway\'s cookies were sent, no Cookie header is forwarded at all', async () => {
    const a = await call(`${t.url}/web/profile`, { headers: { cookie: alice.cookieHeader } });
    assert.equal(a.status, 200, a.text);
    assert.equal('cookie' in lastSeen().headers, false);
  });

  test('a route that sets forwardCredential forwards the session cookie and CSRF token unchanged', async () => {
    const a = await call(`${t.url}/web/profile-forwarding`, { method: 'POST', headers: { cookie: withTheme(), 'x-csrf-token': alice.token, 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(a.status, 201, a.text);
    assert.equal(lastSeen().headers.cookie, withTheme());
    assert.equal(lastSeen().headers['x-csrf-token'], alice.token);
  });
});

describe('what the upstream receives behind a route authenticated otherwise', () => {
  test('a browser\'s session cookie sent along with an API key is not forwarded either', async () => {
    const a = await call(`${t.url}/api/things`, { method: 'POST', headers: { 'x-api-key': KEY, cookie: withTheme(), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(a.status, 201, a.text);
    assert.equal(lastSeen().headers.cookie, 'theme=dark; lang="en-GB"');
    assert.equal(lastSeen().headers['x-api-key'], undefined);
  });
});

describe('what the browser receives from the upstream', () => {
  let setter: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    setter = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', ['pp_session=planted-by-upstream; Path=/; HttpOnly', 'theme=light; Path=/', ' pp_csrf =x', 'pp_session_hint=1', '=pp_session=nameless; Path=/web']);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    gw = await startTestGateway(webConfig(setter.url, {}, [
      { id: 'profile-forwarding', path: '/web/profile-forwarding', methods: ['GET', 'POST'], upstream: 'up', session: { mode: 'required' }, forwardCredential: true },
    ]));
  });
  after(async () => {
    await gw.close();
    await setter.close();
  });

  test('an upstream cannot set the gateway\'s session or CSRF cookie; its own cookies pass', async () => {
    const bob = await login(gw.url, 'bob');
    const a = await call(`${gw.url}/web/profile`, { headers: { cookie: bob.cookieHeader } });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.headers.getSetCookie(), ['theme=light; Path=/', 'pp_session_hint=1']);
  });

  test('a forwardCredential route trusts its upstream with them, both ways', async () => {
    const bob = await login(gw.url, 'bob');
    const a = await call(`${gw.url}/web/profile-forwarding`, { headers: { cookie: bob.cookieHeader } });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.getSetCookie().length, 5);
  });
});
