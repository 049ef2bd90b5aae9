import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { signIn, startConsoleEnv, watchedPage } from '../test/console/support.ts';

// Screenshots of the console's main pages for the README, taken from a fresh demo with a
// little traffic: `node scripts/screenshots.ts` (needs Debian's chromium at /usr/bin/chromium).

const out = join(import.meta.dirname, '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const env = await startConsoleEnv();
try {
  const call = (path: string, key: string, method = 'GET') => fetch(env.gateway + path, { method, headers: { 'x-api-key': key } });
  for (const [path, key, method] of [['/api/orders', 'pk_demo_writer', 'POST'], ['/api/orders', 'pk_demo_writer'], ['/api/orders', 'pk_demo_reader', 'POST'], ['/api/orders', 'pk_demo_expired'], ['/api/orders', 'pk_demo_pending'], ['/api/orders', 'pk_globex_reader'], ['/api/internal/report', 'pk_demo_writer']] as const) await call(path, key, method);
  // A burst of refusals (a "what changed" marker on the overview) and a chat call (AI usage).
  for (let i = 0; i < 8; i++) await call('/api/orders', 'pk_demo_reader', 'POST');
  await fetch(`${env.gateway}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer pk_demo_writer', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'demo-echo', messages: [{ role: 'user', content: 'Hello from Pinpoint' }] }) });
  const staging = await call('/api/orders', 'pk_demo_reporting_staging');
  const id = staging.headers.get('x-request-id')!;
  const { page, errors } = await watchedPage(env);
  await signIn(page, env.admin, 'adm_demo_operator');
  const shots: [string, string, string][] = [
    ['overview', '#/', 'Overview'], ['refused', '#/refused', 'Refused requests (live)'], ['request', `#/request/${id}`, `Request ${id}`],
    ['subscriptions', '#/subscriptions', 'Subscriptions'], ['app-keys', '#/apps/acme-writer', 'App acme-writer'], ['policy', '#/policies/orders-reporting', 'Policy orders-reporting'], ['portal', '#/portal/orders', 'Acme orders v1'],
    ['access-review', '#/access-review', 'Access review'], ['vault', '#/vaults/demo', 'Vault demo'], ['ai-usage', '#/usage', 'AI usage and cost'],
  ];
  for (const [name, hash, heading] of shots) {
    await page.goto(`${env.admin}/${hash}`);
    await page.getByRole('heading', { name: heading }).waitFor();
    if (name === 'request') { await page.getByRole('button', { name: 'Compare with a success' }).click(); await page.getByRole('heading', { name: 'Compared with a success' }).waitFor(); }
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: name !== 'portal' && name !== 'access-review' });
    process.stdout.write(`docs/screenshots/${name}.png\n`);
  }
  if (errors.length) throw new Error(`the console logged errors: ${errors.join('; ')}`);
} finally {
  await env.close();
}
