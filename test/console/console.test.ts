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
    assert.equal((await get('/api/orders', secret)).status, 200);
    await page.reload();
    await page.getByRole('heading', { name: 'App acme-writer' }).waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is not shown again');
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
