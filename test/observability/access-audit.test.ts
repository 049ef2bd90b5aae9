import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { keys, tokens } from '../admin/support.ts';
import { assertProblem } from '../support/assertions.ts';
import { runCli } from '../support/cli.ts';
import { startObsEnv, type ObsEnv } from './support.ts';

// The access review over a real gateway's state and call log.

type Audit = {
  unusedKeys: { key: string; lastUsed: number | null }[]; expiry: { key: string; expiresAt: string | null; advice: string }[];
  unusedScopes: { key: string; unused: string[]; exercised: string[] }[]; unmatchedPolicies: { policy: string }[];
  manyTenants: { identity: string; kind: string; tenants: string[] }[];
};

let env: ObsEnv;
const soon = new Date(Date.now() + 3 * 86400_000).toISOString();
before(async () => {
  env = await startObsEnv((b) => ({
    ...b,
    routes: b.routes.map((r) => (r.id === 'items' ? { ...r, scopes: { GET: ['shop:read'], POST: ['shop:write'] } } : r)),
    consumers: b.consumers.map((c) => {
      if (c.id === 'acme-buyer') return { ...c, keys: c.keys.map((k) => ({ ...k, expiresAt: soon })), jwtSubjects: ['shared-bot'] };
      if (c.id === 'globex-app') return { ...c, jwtSubjects: ['shared-bot'] };
      return c;
    }),
  }));
  // The buyer reads only: shop:write is granted but never exercised.
  for (let i = 0; i < 3; i++) assert.equal((await env.get('/shop/items', keys.buyer)).status, 200);
  assert.equal((await env.get('/stock', keys.globex)).status, 200);
});
after(async () => { await env.close(); });

describe('the access review', () => {
  test('finds unused keys, expiry, unexercised scopes, unmatched policies and cross-tenant identities', async () => {
    const a = await env.adm('/v1/access-review?expiringDays=7', tokens.operator);
    assert.equal(a.status, 200, a.text);
    const r = a.json as unknown as Audit;
    const unused = r.unusedKeys.map((k) => k.key);
    assert.ok(unused.includes('key_reports') && unused.includes('key_pending'), a.text);
    assert.ok(!unused.includes('key_buyer') && !unused.includes('key_globex'));
    const buyerExpiry = r.expiry.find((k) => k.key === 'key_buyer');
    assert.equal(buyerExpiry?.expiresAt, soon);
    assert.match(buyerExpiry!.advice, /expires in 3 days/);
    assert.equal(r.expiry.find((k) => k.key === 'key_globex')?.expiresAt, null);
    assert.deepEqual(r.unusedScopes.find((s) => s.key === 'key_buyer'), { key: 'key_buyer', consumer: 'acme-buyer', tenant: 'acme', granted: ['shop:read', 'shop:write'], exercised: ['shop:read'], unused: ['shop:write'], advice: 'least privilege: drop shop:write (no admitted request needed it in the log window)' });
    const unmatched = r.unmatchedPolicies.map((p) => p.policy);
    assert.ok(!unmatched.includes('buyers') && !unmatched.includes('stock-readers'), a.text);
    assert.ok(unmatched.includes('reports-read') && unmatched.includes('clerks'));
    assert.deepEqual(r.manyTenants.find((m) => m.identity === 'shared-bot'), { identity: 'shared-bot', kind: 'jwt-subject', tenants: ['acme', 'globex'], advice: 'one token subject acts as consumers of several tenants: split it per tenant' });
  });

  test('a tenant admin sees only its own tenant\'s findings', async () => {
    const r = (await env.adm('/v1/access-review', tokens.globex)).json as unknown as Audit;
    assert.deepEqual(r.unmatchedPolicies, [], 'globex\'s only policy matched; acme\'s are not shown');
    assert.ok(r.unusedKeys.every((k) => k.key === 'key_globex'));
    assert.equal(r.expiry.find((k) => k.key === 'key_buyer'), undefined);
    assertProblem(await env.adm('/v1/access-review?unusedDays=-1', tokens.operator), 400, 'admin_invalid_request');
  });

  test('pinpoint audit prints the same review from the data directory and exits 1 on findings', async () => {
    await env.gw.gateway.writer.flush();
    const r = runCli(['audit', '--data-dir', env.gw.dataDir, '--expiring-days', '7']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /key_reports \(acme-reports, acme\) last used never: never used/);
    assert.match(r.stdout, /key_buyer \(acme-buyer\): granted shop:read shop:write; used shop:read: least privilege: drop shop:write/);
    assert.match(r.stdout, /jwt-subject shared-bot: acme, globex/);
    const json = JSON.parse(runCli(['audit', '--data-dir', env.gw.dataDir, '--json', '--tenant', 'globex']).stdout) as Audit;
    assert.ok(json.unmatchedPolicies.every((p) => p.policy !== 'clerks'));
  });
});
