import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminAuthThrottleDefaults } from '../../src/admin/config.ts';
import { tokens } from './support.ts';
import { startSecurityEnv, type RawAnswer, type SecurityEnv } from './security-support.ts';

// What a page on another site could send to the admin API, over real HTTP with the exact
// headers a browser sets. Every refusal happens before any handler: state is checked afterwards.

let env: SecurityEnv;
before(async () => { env = await startSecurityEnv(adminAuthThrottleDefaults, ['https://admin.example.com']); });
after(async () => { await env.close(); });

const json = { 'content-type': 'application/json' };
const tenantBody = (id: string) => JSON.stringify({ id, name: id });

function assertRefused(a: RawAnswer, status: number, code: string): void {
  assert.equal(a.status, status, a.text);
  assert.equal(a.headers['content-type'], 'application/problem+json');
  assert.equal(a.json.code, code);
  assert.equal(a.json.requestId, a.headers['x-request-id']);
}

async function tenantExists(id: string): Promise<boolean> {
  const a = await env.req({ path: `/v1/tenants/${id}`, token: tokens.operator });
  return a.status === 200;
}

describe('cross-site state changes are refused', () => {
  test('a POST marked Sec-Fetch-Site: cross-site gets 403 admin_cross_site_request even with an operator token, and creates nothing', async () => {
    assertRefused(await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { ...json, 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' }, body: tenantBody('csrf-a') }), 403, 'admin_cross_site_request');
    assert.equal(await tenantExists('csrf-a'), false);
  });

  test('same-site is refused too: a sibling subdomain or another port is another origin', async () => {
    assertRefused(await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { ...json, 'sec-fetch-site': 'same-site' }, body: tenantBody('csrf-b') }), 403, 'admin_cross_site_request');
    assert.equal(await tenantExists('csrf-b'), false);
  });

  test('a foreign Origin without Fetch Metadata (older browsers) is refused, and so is Origin: null (sandboxed frames, file://)', async () => {
    for (const origin of ['http://evil.example', 'null', `${env.admin.url}.evil.example`, `http://127.0.0.1:${env.admin.port + 1}`, `https://127.0.0.1:${env.admin.port}`]) {
      assertRefused(await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { ...json, origin }, body: tenantBody('csrf-c') }), 403, 'admin_cross_site_request');
    }
    assert.equal(await tenantExists('csrf-c'), false);
  });

  test('PATCH, PUT and DELETE are guarded like POST', async () => {
    const headers = { ...json, 'sec-fetch-site': 'cross-site' };
    assertRefused(await env.req({ method: 'PATCH', path: '/v1/consumers/acme-buyer', token: tokens.operator, headers, body: JSON.stringify({ name: 'pwned' }) }), 403, 'admin_cross_site_request');
    assertRefused(await env.req({ method: 'DELETE', path: '/v1/policies/buyers', token: tokens.operator, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'admin_cross_site_request');
    const consumer = await env.req({ path: '/v1/consumers/acme-buyer', token: tokens.operator });
    assert.equal((consumer.json.item as { data: { name: string } }).data.name, 'Acme buyer');
    assert.equal((await env.req({ path: '/v1/policies/buyers', token: tokens.operator })).status, 200);
  });

  test('the listener\'s own origin, its loopback aliases, a configured trusted origin and non-browser clients may change state', async () => {
    const own = [env.admin.url, `http://localhost:${env.admin.port}`, 'https://admin.example.com'];
    for (const [i, origin] of own.entries()) {
      const a = await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { ...json, origin, 'sec-fetch-site': 'same-origin' }, body: tenantBody(`own-${i}`) });
      assert.equal(a.status, 201, `${origin}: ${a.text}`);
    }
    const cli = await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: json, body: tenantBody('from-cli') });
    assert.equal(cli.status, 201, cli.text);
  });

  test('reads are not state changes: a cross-site GET is answered (it still needs a bearer token, and no CORS header lets a page read it)', async () => {
    const a = await env.req({ path: '/v1/tenants', token: tokens.operator, headers: { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' } });
    assert.equal(a.status, 200);
    assert.equal(a.headers['access-control-allow-origin'], undefined);
  });
});

describe('bodies are JSON or nothing', () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json']) {
    test(`a body sent as ${type} gets 415 admin_unsupported_media_type before any handler`, async () => {
      const id = `ct-${type.replace(/\W+/g, '-')}`;
      assertRefused(await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { 'content-type': type }, body: tenantBody(id) }), 415, 'admin_unsupported_media_type');
      assert.equal(await tenantExists(id), false);
    });
  }

  test('a body without Content-Type gets 415; JSON with a charset parameter and a body-less POST are accepted', async () => {
    assertRefused(await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, body: tenantBody('ct-none') }), 415, 'admin_unsupported_media_type');
    assert.equal(await tenantExists('ct-none'), false);
    const charset = await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: tenantBody('ct-charset') });
    assert.equal(charset.status, 201, charset.text);
    const approve = await env.req({ method: 'POST', path: '/v1/subscriptions/acme-pending.shop/approve', token: tokens.operator });
    assert.equal(approve.status, 200, approve.text);
  });

  test('a declared body over 1 MiB gets 413 admin_payload_too_large without being read', async () => {
    const a = await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { ...json, 'content-length': String(2 * 1024 * 1024) }, body: '{' });
    assertRefused(a, 413, 'admin_payload_too_large');
    assert.equal(a.headers.connection, 'close');
  });

  test('a chunked body that grows past 1 MiB (8 MiB sent) gets 413 admin_payload_too_large, not a reset connection', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x20);
    const a = await env.req({ method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: { ...json, 'transfer-encoding': 'chunked' }, body: big });
    assertRefused(a, 413, 'admin_payload_too_large');
    // The listener keeps serving.
    assert.equal((await env.req({ path: '/v1/tenants', token: tokens.operator })).status, 200);
  });
});

describe('credentials and CORS', () => {
  test('an admin token in a cookie or in the query string is no credential', async () => {
    for (const r of [
      { path: `/v1/tenants?access_token=${tokens.operator}` },
      { path: `/v1/tenants?token=${tokens.operator}` },
      { path: '/v1/tenants', headers: { cookie: `token=${tokens.operator}; authorization=Bearer%20${tokens.operator}` } },
    ]) {
      assertRefused(await env.req(r), 401, 'admin_unauthenticated');
    }
  });

  test('a CORS preflight gets no Access-Control-* header, so a browser never sends the real cross-origin request', async () => {
    const a = await env.req({ method: 'OPTIONS', path: '/v1/tenants', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    assert.ok(a.status >= 400, `preflight answered ${a.status}`);
    assert.deepEqual(Object.keys(a.headers).filter((h) => h.startsWith('access-control-')), []);
  });

  test('no answer of the admin API carries a CORS header, whatever the Origin', async () => {
    for (const r of [
      { path: '/v1/tenants', token: tokens.operator },
      { path: '/openapi.json' },
      { path: '/' },
      { method: 'POST', path: '/v1/tenants', token: tokens.operator, headers: json, body: '{' },
    ]) {
      const a = await env.req({ ...r, headers: { ...r.headers, origin: 'http://evil.example' } });
      assert.deepEqual(Object.keys(a.headers).filter((h) => h.startsWith('access-control-')), [], `${r.path}`);
    }
  });
});

describe('console assets', () => {
  test('every console asset carries CSP with script-src \'self\' and frame-ancestors \'none\', X-Frame-Options DENY, nosniff and no-referrer', async () => {
    for (const path of ['/', '/console/app.js', '/console/api.js', '/console/style.css']) {
      const a = await env.req({ path });
      assert.equal(a.status, 200, path);
      const csp = String(a.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.equal(a.headers['x-frame-options'], 'DENY', path);
      assert.equal(a.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(a.headers['referrer-policy'], 'no-referrer', path);
    }
  });

  test('the console page has no inline script or event handler attribute for the CSP to refuse', async () => {
    const html = (await env.req({ path: '/' })).text;
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0);
    for (const s of scripts) {
      assert.match(s[0], /\ssrc="\/console\/[\w-]+\.js"/);
      assert.equal(s[1]!.trim(), '');
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i);
  });

  test('JSON answers are never sniffed or framed either', async () => {
    const a = await env.req({ path: '/v1/tenants', token: tokens.operator });
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    assert.equal(a.headers['x-frame-options'], 'DENY');
  });
});
