import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { adminAuthThrottleDefaults } from '../../src/admin/config.ts';
import { tokens } from '../admin/support.ts';
import { startSecurityEnv, type SecurityEnv } from '../admin/security-support.ts';
import { chromiumPath } from './support.ts';

// A hostile page in real Chromium, served by a second HTTP server on another origin, tries
// what CSRF and clickjacking need: an auto-submitted form, fetches with and without a token,
// and framing the console. The admin API's state is read back afterwards: nothing changed.

let env: SecurityEnv;
let evil: Server;
let evilPort = 0;
let browser: Browser;

const hostilePages = (admin: string): Record<string, string> => ({
  '/form': `<!doctype html><form id="f" method="POST" action="${admin}/v1/tenants">
    <input name="id" value="evil-form"><input name="name" value="evil"></form>
    <script>document.getElementById('f').submit()</script>`,
  '/fetch': `<!doctype html><pre id="out"></pre><script>
    const results = {};
    const body = JSON.stringify({ id: 'evil-fetch', name: 'evil' });
    async function attempt(name, init) {
      try { const r = await fetch('${admin}/v1/tenants', { method: 'POST', body, ...init }); results[name] = 'answered ' + r.type + ' ' + r.status; }
      catch (e) { results[name] = 'blocked ' + e.name; }
    }
    (async () => {
      // With the operator token: needs a preflight, which gets no CORS answer, so it is never sent.
      await attempt('bearer', { headers: { authorization: 'Bearer ${tokens.operator}', 'content-type': 'application/json' } });
      // Without a preflight: text/plain and no-cors are sent, and must be refused by the listener.
      await attempt('simple', { mode: 'no-cors', headers: { 'content-type': 'text/plain' } });
      await attempt('cookies', { mode: 'no-cors', credentials: 'include' });
      document.getElementById('out').textContent = JSON.stringify(results);
    })();
  </script>`,
  '/frame': `<!doctype html><iframe id="console" src="${admin}/" width="800" height="600"></iframe>`,
});

before(async () => {
  env = await startSecurityEnv(adminAuthThrottleDefaults);
  const pages = hostilePages(env.admin.url);
  evil = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page ?? 'not found');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  evilPort = (evil.address() as AddressInfo).port;
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await env?.close();
});

async function tenantIds(): Promise<string[]> {
  const a = await env.req({ path: '/v1/tenants', token: tokens.operator });
  assert.equal(a.status, 200);
  return (a.json.items as { id: string }[]).map((t) => t.id);
}

// localhost -> 127.0.0.1 is cross-site; 127.0.0.1:other-port -> 127.0.0.1 is same-site but cross-origin.
const origins = () => [{ label: 'cross-site (localhost)', base: `http://localhost:${evilPort}` }, { label: 'same-site, other port (127.0.0.1)', base: `http://127.0.0.1:${evilPort}` }];

describe('a page on another origin, in Chromium', () => {
  test('an auto-submitted HTML form POST reaches the listener and is refused with 403 admin_cross_site_request; no tenant is created', async () => {
    for (const { label, base } of origins()) {
      const page = await browser.newPage();
      const answer = page.waitForResponse((r) => r.url() === `${env.admin.url}/v1/tenants`, { timeout: 15000 });
      await page.goto(`${base}/form`);
      const r = await answer;
      assert.equal(r.status(), 403, label);
      assert.equal((JSON.parse(await r.text()) as { code: string }).code, 'admin_cross_site_request', label);
      await page.close();
    }
    assert.ok(!(await tenantIds()).includes('evil-form'));
    assert.ok(env.logs.filter((l) => l.event === 'admin_cross_site_request').length >= 2, 'the listener logged each refused form post');
  });

  test('fetches with the operator token are stopped by the preflight; no-cors and credentialed fetches are refused by the listener; nothing changes', async () => {
    const before = env.logs.filter((l) => l.event === 'admin_cross_site_request').length;
    for (const { label, base } of origins()) {
      const page = await browser.newPage();
      await page.goto(`${base}/fetch`);
      await page.locator('#out').filter({ hasText: /\S/ }).waitFor({ timeout: 15000 });
      const results = JSON.parse(await page.locator('#out').textContent() ?? '{}') as Record<string, string>;
      assert.equal(results.bearer, 'blocked TypeError', `${label}: ${JSON.stringify(results)}`);
      // An opaque answer: the page cannot read it, and the listener refused it (logged below).
      assert.equal(results.simple, 'answered opaque 0', label);
      assert.equal(results.cookies, 'answered opaque 0', label);
      await page.close();
    }
    assert.ok(!(await tenantIds()).includes('evil-fetch'));
    const refused = env.logs.filter((l) => l.event === 'admin_cross_site_request').slice(before);
    assert.equal(refused.length, 4, 'two no-cors posts per origin reached the listener and were refused');
    assert.ok(!env.logs.some((l) => l.event === 'admin_call' && l.method === 'POST'), 'no handler ran for any of them');
  });

  test('the console cannot be framed by another origin', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => { if (/frame-ancestors|X-Frame-Options/i.test(m.text())) blocked.push(m.text()); });
    await page.goto(`http://localhost:${evilPort}/frame`);
    await page.locator('#console').waitFor();
    for (const until = Date.now() + 10000; blocked.length === 0 && Date.now() < until;) await page.waitForTimeout(100);
    assert.match(blocked.join('\n'), /frame-ancestors 'none'/, 'Chromium reports the CSP refusal');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, 'the iframe exists');
    // A refused frame holds Chromium's error page, never the console's sign-in form.
    assert.ok(!frame.url().startsWith(env.admin.url), `the console loaded inside a foreign frame (${frame.url()})`);
    assert.equal(await frame.locator('input').count(), 0);
    await page.close();
  });

  test('control: the same fetch from the console\'s own origin is accepted, so the refusals above are the guard and not the browser', async () => {
    const page = await browser.newPage();
    await page.goto(`${env.admin.url}/`);
    const status = await page.evaluate(async (token) => {
      const r = await fetch('/v1/tenants', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'own-origin', name: 'ok' }) });
      return r.status;
    }, tokens.operator);
    assert.equal(status, 201);
    assert.ok((await tenantIds()).includes('own-origin'));
    await page.close();
  });
});
