import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signIn, startConsoleEnv, watchedPage, type ConsoleEnv } from './support.ts';

// The console in headless Chromium against the running demo: an operator signs in, finds a
// refused request, reads its trace, approves a subscription and revokes a key, and sees the
// effect on the gateway. Any page error or console error fails the test.

let env: ConsoleEnv;
before(async () => { env = await startConsoleEnv(); });
after(async () => { await env?.close(); });

const get = (path: string, key: string) => fetch(env.gateway + path, { headers: { 'x-api-key': key } });

const post = (path: string, key: string, body: unknown) => fetch(env.gateway + path, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const mainText = async (page: import('playwright-core').Page) => await page.locator('main').textContent() ?? '';

// First in the file: the burst below is then the only traffic, so "what changed" sees a jump from zero.
describe('the console\'s charts, access review, vaults and AI usage', () => {
  test('the overview draws requests and refusals over the last hour with a data table, a "what changed" marker and top offenders', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get('/api/orders', 'pk_demo_writer')).status, 200);
    for (let i = 0; i < 12; i++) assert.equal((await post('/api/orders', 'pk_demo_reader', { item: 'book' })).status, 403);
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    const chart = page.getByRole('figure').filter({ hasText: 'Requests: allowed and refused' });
    await chart.waitFor();
    const sum = async (sel: string) => (await chart.locator(sel).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))))).reduce((a, b) => a + b, 0);
    assert.ok(await sum('rect.s1') >= 12, 'the refused series counts the burst');
    assert.ok(await sum('rect.s0') >= 3, 'the allowed series counts the successes');
    assert.match(await chart.locator('.legend').textContent() ?? '', /allowed \(solid\).*refused \(hatch\)/);
    await chart.getByText(/^Data table/).click();
    // Summed over the rows: the burst may straddle a bucket boundary on a slow machine.
    const refusedCells = await chart.locator('table tbody tr td:nth-child(3)').evaluateAll((els) => els.map((e) => Number(e.textContent)));
    assert.ok(refusedCells.reduce((a, b) => a + b, 0) >= 12, `the data table's refused column counts the burst: ${refusedCells.join(', ')}`);
    const byReason = page.getByRole('figure').filter({ hasText: 'Refusals by reason code' }).first();
    assert.match(await byReason.locator('.legend').textContent() ?? '', /insufficient_scope/);
    assert.ok(await chart.locator('g.marker').count() >= 1, 'a jump is marked on the chart');
    const change = page.locator('ol.changes li').first();
    assert.match(await change.textContent() ?? '', /▼1 .*insufficient_scope.*Preceded by/s);
    const offenders = page.locator('table', { has: page.locator('caption', { hasText: 'By consumer' }) });
    await offenders.getByRole('link', { name: 'acme-reader' }).waitFor();
    await page.getByRole('link', { name: 'last 6h' }).click();
    await page.waitForURL(/#\/\?range=6h$/);
    await page.getByRole('link', { name: 'last 6h', exact: true }).and(page.locator('[aria-current="page"]')).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the access review page shows findings with their advice and links to the policy they are about', async () => {
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_auditor');
    await page.getByRole('link', { name: 'Access review' }).click();
    await page.getByRole('heading', { name: 'Access review' }).waitFor();
    await page.getByRole('heading', { name: /^Unused keys \([1-9]\d*\)$/ }).waitFor();
    assert.match(await page.locator('tr', { hasText: 'key_globex_reader' }).first().textContent() ?? '', /never used in the log window/);
    const link = page.getByRole('link', { name: 'inventory-readers' });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Policy inventory-readers' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the vault pages show each app\'s permissions and the locked vault\'s firewall, never a secret value', async () => {
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    await page.goto(`${env.admin}/#/vaults`);
    await page.getByRole('heading', { name: 'Vaults' }).waitFor();
    assert.match(await page.locator('tr', { hasText: 'locked.vault.localhost' }).textContent() ?? '', /denies all but 10\.0\.0\.0\/8/);
    const locked = page.getByRole('link', { name: 'locked', exact: true });
    await locked.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor();
    assert.equal(new URL(page.url()).hash, '#/vaults/locked');
    assert.match(await mainText(page), /Default action\s*Deny\s*Allowed networks\s*10\.0\.0\.0\/8/);
    await page.goto(`${env.admin}/#/vaults/demo`);
    await page.getByRole('heading', { name: 'Vault demo' }).waitFor();
    const readonly = await page.locator('tr', { hasText: 'demo-readonly' }).textContent() ?? '';
    assert.match(readonly, /get, list$/);
    assert.match(await page.locator('tr', { hasText: 'greeting' }).textContent() ?? '', /greeting\s*1\s*yes\s*text\/plain/);
    assert.ok(!(await page.content()).includes('hello from pinpoint'), 'the secret value is not on the page');
    await page.getByRole('heading', { name: 'Recent audit' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a tenant admin is told no vault is visible to it', async () => {
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_acme');
    await page.goto(`${env.admin}/#/vaults`);
    await page.getByText(/No vault is visible to you/).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the AI usage page shows tokens and cost by consumer and model after a chat call', async () => {
    const chat = await fetch(`${env.gateway}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer pk_demo_writer', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo-echo', messages: [{ role: 'user', content: 'count these four words' }] }) });
    assert.equal(chat.status, 200, await chat.text());
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    await page.getByRole('link', { name: 'AI usage' }).click();
    await page.getByRole('heading', { name: 'AI usage and cost' }).waitFor();
    const row = page.locator('table', { has: page.locator('caption', { hasText: 'Usage by consumer and model' }) }).locator('tr', { hasText: 'acme-writer' });
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[1], 'demo-echo');
    assert.ok(Number(cells[2]) >= 1 && Number(cells[5]) >= 8, cells.join(' | '));
    assert.match(cells[6] ?? '', /^\$0\.\d{6}$/);
    assert.match(await mainText(page), /By provider and model/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('every page fits a 1280 px laptop screen without horizontal scrolling', async () => {
    const { page, errors } = await watchedPage(env);
    await page.setViewportSize({ width: 1280, height: 800 });
    await signIn(page, env.admin, 'adm_demo_operator');
    const pages: [string, string][] = [['#/', 'Overview'], ['#/refused', 'Refused requests (live)'], ['#/tenants', 'Tenants'], ['#/apps', 'Apps and keys'], ['#/apps/acme-writer', 'App acme-writer'],
      ['#/subscriptions', 'Subscriptions'], ['#/policies', 'Access policies'], ['#/policies/orders-apps', 'Policy orders-apps'], ['#/access-review', 'Access review'], ['#/vaults', 'Vaults'],
      ['#/vaults/demo', 'Vault demo'], ['#/usage', 'AI usage and cost'], ['#/portal/orders', 'Acme orders v1']];
    for (const [hash, heading] of pages) {
      await page.goto(`${env.admin}/${hash}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      const [scroll, client] = await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]') as [number, number];
      assert.ok(scroll <= client, `${hash} scrolls sideways: ${scroll} > ${client}`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('the web console', () => {
  test('an operator signs in, finds a refused request in the live tail and opens its decision trace with the cause and fix', async () => {
    assert.equal((await get('/api/orders', 'pk_demo_writer')).status, 200);
    const refused = await get('/api/orders', 'pk_demo_reporting_staging');
    assert.equal(refused.status, 403);
    const requestId = refused.headers.get('x-request-id')!;
    assert.ok(requestId);
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    assert.match(await page.locator('#who').textContent() ?? '', /operator/);
    await page.getByRole('link', { name: 'Refused (live)' }).click();
    const link = page.getByRole('link', { name: requestId });
    await link.waitFor({ timeout: 10000 });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: `Request ${requestId}` }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/request/${requestId}`);
    const trace = page.getByRole('list', { name: 'Decision trace, check by check' });
    assert.match(await trace.textContent() ?? '', /REFUSED\s*no_access_policy/);
    assert.match(await page.locator('.findings').textContent() ?? '', /grant GET \/api\/orders to acme-reporting/);
    await page.getByRole('heading', { name: /^no_access_policy: / }).waitFor();
    await page.getByRole('button', { name: 'Compare with a success' }).click();
    await page.getByRole('heading', { name: 'Compared with a success' }).waitFor();
    assert.ok(await page.locator('tr.differs').count() > 0, 'the refused check differs from the success');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('approving the pending subscription lets its app through', async () => {
    assert.equal((await get('/api/orders', 'pk_demo_pending')).status, 403);
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_acme');
    await page.goto(`${env.admin}/#/subscriptions?status=requested`);
    const approve = page.getByRole('button', { name: /^Approve acme-newapp/ });
    await approve.click();
    await page.getByText(/approve done/).waitFor();
    const after = await get('/api/orders', 'pk_demo_pending');
    assert.equal(after.status, 200, await after.text());
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('revoking a key from the app page refuses its next request with credential_revoked', async () => {
    assert.equal((await get('/api/orders', 'pk_demo_reader')).status, 200);
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    await page.goto(`${env.admin}/#/apps/acme-reader`);
    await page.getByRole('heading', { name: 'App acme-reader' }).waitFor();
    const revoke = page.getByRole('button', { name: /^Revoke / }).first();
    await revoke.click();
    await page.getByText(/revoked; the next request/).waitFor();
    await page.getByRole('cell', { name: /^revoked/ }).first().waitFor();
    const next = await get('/api/orders', 'pk_demo_reader');
    assert.equal(next.status, 401);
    assert.equal(((await next.json()) as { code: string }).code, 'credential_revoked');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a new key\'s secret is shown once and works on the gateway', async () => {
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    await page.goto(`${env.admin}/#/apps/acme-writer`);
    await page.getByLabel('Scopes (space-separated)').fill('orders:read');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('.secret-value').textContent())!;
    assert.match(secret, /^pk_live_/);
    const newId = /Key (\S+)\. Copy/.exec((await page.locator('.notice.secret p').textContent())!)![1]!;
    assert.equal((await get('/api/orders', secret)).status, 200);
    await page.reload();
    await page.getByRole('heading', { name: 'App acme-writer' }).waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');
    const rowsBefore = await page.locator('table tbody tr').count();
    await page.getByRole('button', { name: `Rotate ${newId}`, exact: true }).click();
    const rotated = (await page.locator('.secret-value').textContent())!;
    assert.match(rotated, /^pk_live_/);
    await page.getByRole('cell', { name: /^replaced by / }).first().waitFor();
    assert.equal(await page.locator('table tbody tr').count(), rowsBefore + 1, 'the new key is listed at once, the secret still shown above');
    assert.equal(await page.locator('.secret-value').textContent(), rotated);
    assert.equal((await get('/api/orders', rotated)).status, 200);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the developer portal documents each endpoint\'s scopes, limits and reason codes, and the policies page lists the access policies', async () => {
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    await page.goto(`${env.admin}/#/portal/orders`);
    await page.getByRole('heading', { name: 'GET, POST /api/orders' }).waitFor();
    const text = await page.locator('main').textContent() ?? '';
    assert.match(text, /GET: orders:read; POST: orders:write/);
    assert.match(text, /3 per 60 s per key/);
    assert.match(text, /subscription_pending/);
    await page.goto(`${env.admin}/#/policies`);
    await page.getByRole('heading', { name: 'Access policies' }).waitFor();
    assert.match(await page.locator('main').textContent() ?? '', /orders-reporting.*✓ allow.*app acme-reporting/);
    assert.deepEqual(errors, []);
    await page.close();
  });
  test('a policy dry-run lists the logged requests a change would refuse, and applies nothing', async () => {
    assert.equal((await get('/api/orders', 'pk_demo_writer')).status, 200);
    const { page, errors } = await watchedPage(env);
    await signIn(page, env.admin, 'adm_demo_operator');
    await page.goto(`${env.admin}/#/policies/orders-apps`);
    await page.getByRole('heading', { name: 'Policy orders-apps' }).waitFor();
    assert.match(await page.locator('main table').first().textContent() ?? '', /v1/);
    const editor = page.getByLabel('The policy as JSON');
    const policy = JSON.parse(await editor.inputValue()) as { subjects: { consumers: string[] } };
    policy.subjects.consumers = policy.subjects.consumers.filter((c) => c !== 'acme-writer');
    await editor.fill(JSON.stringify(policy));
    await page.getByRole('button', { name: /^Dry-run/ }).click();
    await page.getByText(/would be decided differently/).waitFor();
    const flips = await page.locator('main table').last().textContent() ?? '';
    assert.match(flips, /acme-writer/);
    assert.match(flips, /✗ refused no_access_policy/);
    assert.equal((await get('/api/orders', 'pk_demo_writer')).status, 200, 'the dry-run applied nothing');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('the developer portal API', () => {
  const adm = (path: string, token: string) => fetch(env.admin + path, { headers: { authorization: `Bearer ${token}` } });

  test('the console is served at / with a strict content security policy, and an unknown asset is a problem, not a page', async () => {
    const page = await fetch(env.admin + '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'.*frame-ancestors 'none'/);
    assert.match(await page.text(), /<script type="module" src="\/console\/app.js">/);
    assert.equal((await fetch(env.admin + '/console/nope.js')).status, 404);
    const missing = await fetch(env.admin + '/console/%2e%2e/static.ts');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'admin_not_found');
    assert.equal((await fetch(env.admin + '/v1/reasons')).status, 401, 'the catalogue endpoints need an admin token');
  });

  test('a tenant admin sees its own APIs and another tenant\'s tenant-only API answers 404', async () => {
    const list = await (await adm('/v1/catalogue', 'adm_demo_acme')).json() as { items: { id: string }[] };
    assert.deepEqual(list.items.map((a) => a.id), ['orders']);
    assert.equal((await adm('/v1/catalogue/inventory', 'adm_demo_acme')).status, 404);
  });

  test('the OpenAPI document of an API names auth, scopes, the rate limit and each reason code with its fix', async () => {
    const doc = await (await adm('/v1/catalogue/orders/openapi.json', 'adm_demo_operator')).json() as { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>>; components: { securitySchemes: Record<string, { name?: string }> } };
    assert.equal(doc.openapi, '3.1.0');
    const post = doc.paths['/api/orders']!.post!;
    assert.deepEqual(post['x-pinpoint-scopes'], ['orders:write']);
    const codes = (post['x-pinpoint-reasons'] as { code: string; fix: string }[]).map((r) => r.code);
    for (const c of ['credential_missing', 'insufficient_scope', 'subscription_pending', 'no_access_policy']) assert.ok(codes.includes(c), c);
    assert.ok(!codes.includes('rate_limited'), '/api/orders has no rate limit');
    const limited = Object.values(doc.paths).length;
    assert.ok(limited >= 2);
    assert.match(JSON.stringify((post.responses as Record<string, { description: string }>)['403']), /insufficient_scope/);
    assert.equal(doc.components.securitySchemes.apiKey!.name, 'x-api-key');
  });
});
