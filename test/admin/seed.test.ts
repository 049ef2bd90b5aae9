import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { assertProblem } from '../support/assertions.ts';
import { keyEntry } from '../support/harness.ts';
import { keys, startTenancyEnv, tenancyConfig, tokens, type TenancyEnv } from './support.ts';

// The YAML seeds the state store: what the file declares is applied when its sections
// change; admin-created entities are left alone; a refused file changes nothing.

let env: TenancyEnv;
before(async () => { env = await startTenancyEnv(); });
after(async () => { await env.close(); });

const version = async () => (await env.adm('GET', '/v1/status', tokens.operator)).json.stateVersion as number;

test('a file edit that adds a consumer is one state version by actor config:<file>, live at once; admin-made consumers survive it', async () => {
  assert.equal((await env.adm('POST', '/v1/consumers', tokens.acme, { id: 'made-by-admin', tenant: 'acme' })).status, 201);
  const v = await version();
  const config = tenancyConfig(env.upstream.url);
  config.consumers.push({ id: 'from-file', tenant: 'acme', keys: [keyEntry('pk_test_from_file', 'key_from_file', ['shop:read'])] });
  config.subscriptions.push({ id: 'from-file.shop', consumer: 'from-file', api: 'shop', status: 'approved' });
  config.policies.push({ id: 'from-file-read', tenant: 'acme', api: 'shop', subjects: { consumers: ['from-file'] } } as never);
  assert.equal(env.gw.rewrite(config).ok, true);
  assert.equal((await env.get('/shop/items', 'pk_test_from_file')).status, 200);
  assert.equal(await version(), v + 1);
  await env.gw.gateway.tenancy.settled();
  const audit = await env.adm('GET', '/v1/audit?kind=consumer&id=from-file&limit=1', tokens.operator);
  assert.deepEqual((audit.json.items as { actor: unknown }[])[0]!.actor, { id: 'config:pinpoint.yaml', role: 'config' });
  assert.equal((await env.adm('GET', '/v1/consumers/made-by-admin', tokens.operator)).status, 200);
});

test('removing a seeded consumer from the file deletes it from the state', async () => {
  assert.equal(env.gw.rewrite(tenancyConfig(env.upstream.url)).ok, true);
  assertProblem(await env.get('/shop/items', 'pk_test_from_file'), 401, 'credential_unknown');
  assert.equal((await env.adm('GET', '/v1/consumers/made-by-admin', tokens.operator)).status, 200);
});

test('a refused file (a broken route) changes neither the config nor the state', async () => {
  const v = await version();
  const config = tenancyConfig(env.upstream.url);
  config.consumers.push({ id: 'never', tenant: 'acme', keys: [keyEntry('pk_test_never', 'key_never', [])] });
  (config.routes as { upstream: string }[])[0]!.upstream = 'missing';
  const r = env.gw.rewrite(config);
  assert.equal(r.ok, false);
  assert.equal(await version(), v);
  assertProblem(await env.get('/shop/items', 'pk_test_never'), 401, 'credential_unknown');
  assert.equal((await env.adm('GET', '/v1/consumers/never', tokens.operator)).status, 404);
});

test('while the file on disk is broken, admin changes still go live (compiled with the last good file)', async () => {
  writeFileSync(env.gw.configFile, 'routes: [ this is not yaml');
  const r = await env.adm('POST', '/v1/keys/key_reports/revoke', tokens.acme, { reason: 'while broken' });
  assert.equal(r.status, 200);
  assertProblem(await env.get('/shop/items', keys.auditorApp), 401, 'credential_revoked');
  writeFileSync(env.gw.configFile, stringify(tenancyConfig(env.upstream.url)));
});
