import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { call } from '../support/harness.ts';
import { runCli } from '../support/cli.ts';
import { keys, tokens } from '../admin/support.ts';
import { startObsEnv, type ObsEnv } from './support.ts';

// Analytics over the real call log of a real gateway: series, top offenders, and the jump
// in refusals that follows a key revocation, tied to the state version that caused it.

let env: ObsEnv;
let started: number;
before(async () => { started = Date.now(); env = await startObsEnv(); });
after(async () => { await env.close(); });

type Point = { t: number; total: number; refused: number; by: Record<string, number> };
const sum = (points: Point[], key: string) => points.reduce((a, p) => a + (p.by[key] ?? 0), 0);

describe('analytics over the call log', () => {
  let revokedAtVersion = 0;
  test('a revoked key shows as a jump in refusals tied to the state version of the revocation', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await env.get('/shop/items', keys.buyer)).status, 200);
    assert.equal((await env.get('/stock', keys.globex)).status, 200);
    assert.equal((await env.get('/shop/items', keys.stranger)).status, 403);
    await sleep(1100);
    const r = await call(`${env.admin.url}/v1/keys/key_buyer/revoke`, { method: 'POST', headers: { authorization: `Bearer ${tokens.operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'leaked in a repo' }) });
    assert.equal(r.status, 200, r.text);
    revokedAtVersion = env.gw.gateway.tenancy.state.version;
    const deadline = Date.now() + 5000;
    while ((await env.get('/shop/items', keys.buyer)).status !== 401) { if (Date.now() > deadline) assert.fail('revocation never applied'); await sleep(20); }
    for (let i = 0; i < 7; i++) assertProblem(await env.get('/shop/items', keys.buyer), 401, 'credential_revoked');
    const a = await env.adm(`/v1/stats/changes?from=${started - 1000}&bucket=1&minRefusals=5`, tokens.operator);
    assert.equal(a.status, 200, a.text);
    const jumps = (a.json as { jumps: Record<string, unknown>[] }).jumps;
    assert.equal(jumps.length, 1, a.text);
    const j = jumps[0]!;
    assert.ok((j.codes as Record<string, number>).credential_revoked! >= 7);
    assert.equal(j.stateVersion, revokedAtVersion);
    const change = j.stateChange as { version: number; summary: string; changes: string[] };
    assert.equal(change.version, revokedAtVersion);
    assert.match(change.summary, /revoke key key_buyer/);
    assert.ok(change.changes.some((c) => c.includes('key key_buyer')), JSON.stringify(change));
  });

  test('the series splits requests and refusals by reason, consumer and tenant', async () => {
    const byReason = await env.adm(`/v1/stats/series?from=${started - 1000}&bucket=60&by=reason`, tokens.operator);
    assert.equal(byReason.status, 200, byReason.text);
    const points = (byReason.json as { points: Point[] }).points;
    assert.ok(sum(points, "credential_revoked") >= 8, byReason.text);
    assert.equal(sum(points, 'subscription_required'), 1);
    assert.ok(points.reduce((a, p) => a + p.total, 0) >= 14);
    const byTenant = (await env.adm(`/v1/stats/series?from=${started - 1000}&bucket=60&by=tenant`, tokens.operator)).json as { points: Point[] };
    assert.equal(sum(byTenant.points, 'globex'), 1);
  });

  test('top offenders name the consumer refused most and why', async () => {
    const a = await env.adm(`/v1/stats/top?from=${started - 1000}&by=consumer&limit=2`, tokens.auditor);
    assert.equal(a.status, 200, a.text);
    const items = (a.json as { items: { key: string; refused: number; codes: Record<string, number> }[] }).items;
    assert.equal(items[0]!.key, 'acme-buyer');
    assert.ok(items[0]!.codes.credential_revoked! >= 8);
    assert.equal(items[1]!.key, 'acme-stranger');
  });

  test('a tenant admin sees only its own tenant\'s calls', async () => {
    const globex = (await env.adm(`/v1/stats/series?from=${started - 1000}&bucket=60&by=consumer`, tokens.globex)).json as { points: Point[] };
    assert.equal(sum(globex.points, 'globex-app'), 1);
    assert.equal(sum(globex.points, 'acme-buyer'), 0);
    const top = (await env.adm(`/v1/stats/top?from=${started - 1000}&by=consumer`, tokens.globex)).json as { items: unknown[] };
    assert.deepEqual(top.items, []);
  });

  test('pinpoint stats prints the series, the top offenders and the change behind the jump', async () => {
    await env.gw.gateway.writer.flush();
    const r = runCli(['stats', '--data-dir', env.gw.dataDir, '--since', '10m', '--bucket', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /requests, \d+ refused/);
    assert.match(r.stdout, /Top offenders by consumer:\n  acme-buyer +\d+ refused of \d+  credential_revoked \d+/);
    assert.match(r.stdout, /What changed:\n  .*: \d+ refusals .*credential_revoked/);
    assert.match(r.stdout, /state v\d+ at .* by op: revoke key key_buyer/);
    const json = runCli(['stats', '--data-dir', env.gw.dataDir, '--since', '10m', '--json', '--top', 'clientIp']);
    assert.equal(JSON.parse(json.stdout).top[0].key, '127.0.0.1');
    assert.equal(runCli(['stats', '--data-dir', env.gw.dataDir, '--by', 'colour']).status, 2);
  });

  test('bad query parameters get 400 admin_invalid_request', async () => {
    assertProblem(await env.adm('/v1/stats/series?by=colour', tokens.operator), 400, 'admin_invalid_request');
    assertProblem(await env.adm('/v1/stats/series?bucket=-3', tokens.operator), 400, 'admin_invalid_request');
    assertProblem(await env.adm('/v1/stats/series?from=0&bucket=1', tokens.operator), 400, 'admin_invalid_request');
  });
});

// Retention's rollups are covered, on both stores, by test/store/call-log-reader-contract.ts.
