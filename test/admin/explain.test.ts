import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { runCli } from '../support/cli.ts';
import { keys, startTenancyEnv, tokens, type TenancyEnv } from './support.ts';

// Explain for tenancy decisions: the "wrong client id" hint, which version decided and
// whether a later one would decide differently, and the dry-run of a proposed change.

let env: TenancyEnv;
before(async () => { env = await startTenancyEnv(); });
after(async () => { await env.close(); });

const findings = async (requestId: string): Promise<string[]> => {
  const x = await env.adm('GET', `/v1/explain/${requestId}`, tokens.acme);
  assert.equal(x.status, 200, x.text);
  return x.json.findings as string[];
};

describe('identity confusion', () => {
  test('no_access_policy names the similar identity the policies do grant, and asks about the client id/key', async () => {
    const a = await env.get('/shop/items', keys.reportsStaging);
    assertProblem(a, 403, 'no_access_policy');
    const f = (await findings(a.json.requestId as string)).join('\n');
    assert.match(f, /The request was made as acme-reports-staging \(key key_reports_staging\); policies grant GET \/shop\/items to acme-reports \("Acme reports"\) by reports-read@v\d+\. Are you using the right client id\/key\?/);
    assert.doesNotMatch(f, /acme-buyer/, 'a dissimilar identity is not suggested');
  });

  test('the CLI explain prints the same hint from the data directory', async () => {
    const a = await env.get('/shop/items', keys.reportsStaging);
    await env.gw.gateway.writer.flush();
    const r = runCli(['explain', a.json.requestId as string, '--data-dir', env.gw.dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /policies grant GET \/shop\/items to acme-reports/);
    assert.match(r.stdout, /DENY\s+access-policy/);
  });

  test('a permission_denied by a deny policy says that the deny wins', async () => {
    const a = await env.get('/shop/items', keys.blocked, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assertProblem(a, 403, 'permission_denied');
    assert.match((await findings(a.json.requestId as string)).join('\n'), /Deny policy no-writes-for-blocked v\d+ applies to acme-blocked; a deny wins over every allow/);
  });
});

describe('version-aware explain', () => {
  test('a request denied under vN is reported as allowed by the later version that grants it', async () => {
    const a = await env.get('/shop/items', keys.reportsStaging);
    assertProblem(a, 403, 'no_access_policy');
    const before = await findings(a.json.requestId as string);
    assert.ok(before.some((f) => /no later state version exists|decide it the same way/.test(f)), before.join('\n'));
    const r = await env.adm('POST', '/v1/policies', tokens.acme, { id: 'staging-read', tenant: 'acme', api: 'shop', subjects: { consumers: ['acme-reports-staging'] }, methods: ['GET'] });
    assert.equal(r.status, 201);
    const v = r.json.stateVersion as number;
    const f = (await findings(a.json.requestId as string)).join('\n');
    assert.match(f, new RegExp(`Version check: denied under state v${v - 1}; v${v} — created [0-9.]+ s after the request — would allow it\\.`));
    assert.equal((await env.get('/shop/items', keys.reportsStaging)).status, 200);
  });

  test('an allowed request is reported as refused by the later version that revokes the key', async () => {
    const created = await env.adm('POST', '/v1/consumers/acme-buyer/keys', tokens.acme, { id: 'key_later', scopes: ['shop:read'] });
    const a = await env.get('/shop/items', created.json.secret as string);
    assert.equal(a.status, 200);
    const r = await env.adm('POST', '/v1/keys/key_later/revoke', tokens.acme, { reason: 'leaked' });
    const v = r.json.stateVersion as number;
    const f = (await findings(a.headers.get('x-request-id')!)).join('\n');
    assert.match(f, new RegExp(`allowed under state v${v - 1}; v${v} — created [0-9.]+ s after the request — would refuse it \\(credential_revoked, key key_later@v${v}\\)`));
  });
});

describe('dry-run of a change', () => {
  test('deleting a policy is evaluated against recent requests, reports the decisions it flips, and applies nothing', async () => {
    const ok = await env.get('/shop/items', keys.auditorApp);
    assert.equal(ok.status, 200);
    await env.get('/shop/items', keys.buyer);
    const before = (await env.adm('GET', '/v1/status', tokens.acme)).json.stateVersion;
    const d = await env.adm('POST', '/v1/dry-run', tokens.acme, { changes: [{ op: 'delete', kind: 'policy', id: 'reports-read' }], last: 100 });
    assert.equal(d.status, 200, d.text);
    assert.ok((d.json.evaluated as number) >= 2);
    const flips = d.json.flips as { requestId: string; consumer: string; now: { allowed: boolean }; proposed: { allowed: boolean; code: string } }[];
    const mine = flips.find((x) => x.requestId === ok.headers.get('x-request-id'));
    assert.ok(mine, `the reports request flips: ${JSON.stringify(flips)}`);
    assert.equal(mine.now.allowed, true);
    assert.deepEqual([mine.proposed.allowed, mine.proposed.code], [false, 'no_access_policy']);
    assert.ok(flips.every((x) => x.consumer === 'acme-reports'), 'the buyer is unaffected');
    assert.equal((await env.adm('GET', '/v1/status', tokens.acme)).json.stateVersion, before, 'nothing was applied');
    assert.equal((await env.get('/shop/items', keys.auditorApp)).status, 200);
  });

  test('a proposed policy is validated with paths into the change list', async () => {
    const d = await env.adm('POST', '/v1/dry-run', tokens.acme, { changes: [{ op: 'put', kind: 'policy', data: { id: 'p', tenant: 'acme', api: 'shop', subjects: {} } }] });
    assertProblem(d, 400, 'admin_invalid_request');
    assert.equal((d.json.errors as { path: string }[])[0]!.path, '/changes/0/data/subjects');
  });
});

describe('identity confusion between keys of one consumer', () => {
  test('permission_denied names the same consumer\'s other key whose role the policies allow', async () => {
    const r = await env.adm('POST', '/v1/consumers/acme-reports-staging/keys', tokens.acme, { id: 'key_staging_clerk', roles: ['clerk'], scopes: ['shop:read'] });
    assert.equal(r.status, 201);
    // The staging consumer now has a policy for GET only; its original key has no clerk role.
    const a = await env.get('/shop/items', keys.reportsStaging, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assertProblem(a, 403, 'permission_denied');
    assert.match((await findings(a.json.requestId as string)).join('\n'), /The same consumer has another key, key_staging_clerk \(roles \[clerk\]\), which clerks@v\d+ allows: is the client using the right key\?/);
  });
});
