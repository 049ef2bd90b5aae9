import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { assertProblem } from '../support/assertions.ts';
import { runCli } from '../support/cli.ts';
import { keys, startTenancyEnv, tokens, type TenancyEnv } from './support.ts';

// The CLI verbs on the state store of a running gateway: export, apply (with --dry-run),
// subscription approval and who-can. The gateway sees CLI changes through its state poll.

let env: TenancyEnv;
before(async () => { env = await startTenancyEnv(); });
after(async () => { await env.close(); });

const cli = (...args: string[]) => runCli([...args, '--data-dir', env.gw.dataDir]);

async function eventually(fn: () => Promise<boolean>, ms = 5000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await fn()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not true within ${ms} ms`);
}

test('export prints the state with key hashes only, and applying it unchanged changes nothing', () => {
  const out = cli('export');
  assert.equal(out.status, 0, out.stderr);
  assert.ok(!out.stdout.includes(keys.buyer));
  const doc = parse(out.stdout) as { consumers: { id: string; keys: { hash: string }[] }[] };
  assert.match(doc.consumers.find((c) => c.id === 'acme-buyer')!.keys[0]!.hash, /^sha256:/);
  const file = join(env.gw.dataDir, 'export.yaml');
  writeFileSync(file, out.stdout);
  assert.match(cli('apply', '-f', file).stdout, /No changes/);
});

test('apply --dry-run prints the diff and the logged requests that would flip, and changes nothing', async () => {
  const ok = await env.get('/shop/items', keys.auditorApp);
  assert.equal(ok.status, 200);
  await env.gw.gateway.writer.flush();
  const doc = parse(cli('export').stdout) as { policies: { id: string }[] };
  doc.policies = doc.policies.filter((p) => p.id !== 'reports-read');
  const file = join(env.gw.dataDir, 'proposed.yaml');
  writeFileSync(file, stringify(doc));
  const dry = cli('apply', '-f', file, '--dry-run');
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /- policy reports-read/);
  assert.match(dry.stdout, new RegExp(`${ok.headers.get('x-request-id')} GET /shop/items as acme-reports: allowed -> no_access_policy`));
  assert.match(dry.stdout, /Dry run: nothing was changed/);
  assert.equal((await env.get('/shop/items', keys.auditorApp)).status, 200);
});

test('apply makes the change, audited as the CLI, and the running gateway enforces it within its poll interval', async () => {
  const doc = parse(cli('export').stdout) as { policies: { id: string }[] };
  doc.policies = doc.policies.filter((p) => p.id !== 'reports-read');
  const file = join(env.gw.dataDir, 'applied.yaml');
  writeFileSync(file, stringify(doc));
  const r = cli('apply', '-f', file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Applied as state v\d+/);
  const took = await eventually(async () => (await env.get('/shop/items', keys.auditorApp)).status === 403);
  assert.ok(took < 3000, `enforced after ${took} ms`);
  assertProblem(await env.get('/shop/items', keys.auditorApp), 403, 'no_access_policy');
  const audit = await env.adm('GET', '/v1/audit?kind=policy&id=reports-read&limit=1', tokens.operator);
  assert.deepEqual((audit.json.items as { actor: unknown; action: string }[])[0]!.actor, { id: 'cli', role: 'operator' });
});

test('an invalid file is refused with the field path and changes nothing', () => {
  const file = join(env.gw.dataDir, 'bad.yaml');
  writeFileSync(file, 'policies:\n  - id: p\n    tenant: acme\n    api: shop\n    subjects: {}\n');
  const r = cli('apply', '-f', file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /policies\.0\.subjects: name at least one consumer or role/);
});

test('subscription approve lets a pending consumer in; who-can lists who may call the API and why', async () => {
  assertProblem(await env.get('/shop/items', keys.pending), 403, 'subscription_pending');
  const r = cli('subscription', 'approve', 'acme-pending.shop');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /requested -> approved/);
  await eventually(async () => (await env.get('/shop/items', keys.pending)).status === 200);
  const who = cli('who-can', '--api', 'shop', '--route', 'items', '--method', 'GET');
  assert.match(who.stdout, /yes\s+acme-buyer\s+allow by buyers@v\d+/);
  assert.match(who.stdout, /no\s+acme-stranger\s+subscription_required/);
  assert.doesNotMatch(who.stdout, /globex-app/, 'another tenant\'s consumers are not candidates');
});

test('simulate decides with the tenancy state of the data directory, as the gateway does', () => {
  const s = cli('simulate', '--path', '/shop/items', '--key', keys.reportsStaging);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /DENY 403 no_access_policy at "access-policy"/);
  assert.match(cli('simulate', '--path', '/shop/items', '--key', keys.buyer).stdout, /decision\s+ALLOW/);
});

test('key create prints a secret once that the running gateway accepts; key revoke makes it 401 credential_revoked', async () => {
  const made = cli('key', 'create', '--consumer', 'acme-buyer', '--scopes', 'shop:read', '--id', 'key_cli_made');
  assert.equal(made.status, 0, made.stderr);
  const secret = /secret \(shown once, store it now\): (\S+)/.exec(made.stdout)?.[1];
  assert.ok(secret, made.stdout);
  await eventually(async () => (await env.get('/shop/items', secret)).status === 200);
  const listed = cli('key', 'list', '--consumer', 'acme-buyer');
  assert.match(listed.stdout, /key_cli_made\s+acme-buyer/);
  assert.ok(!listed.stdout.includes(secret) && !cli('export').stdout.includes(secret), 'the secret is never stored or printed again');
  const revoked = cli('key', 'revoke', 'key_cli_made', '--reason', 'rotated by the test');
  assert.equal(revoked.status, 0, revoked.stderr);
  await eventually(async () => (await env.get('/shop/items', secret)).status === 401);
  assertProblem(await env.get('/shop/items', secret), 401, 'credential_revoked');
  const audit = await env.adm('GET', '/v1/audit?kind=key&id=key_cli_made&limit=5', tokens.operator);
  assert.deepEqual((audit.json.items as { actor: unknown }[]).map((i) => i.actor), [{ id: 'cli', role: 'operator' }, { id: 'cli', role: 'operator' }]);
});

test('key rotate prints a new secret the gateway accepts at once, while the old key works until the overlap ends and then gets 401 credential_expired', async () => {
  const made = cli('key', 'create', '--consumer', 'acme-buyer', '--scopes', 'shop:read', '--id', 'key_cli_to_rotate');
  const oldSecret = /secret \(shown once, store it now\): (\S+)/.exec(made.stdout)![1]!;
  await eventually(async () => (await env.get('/shop/items', oldSecret)).status === 200);
  assert.match(cli('key', 'rotate', 'key_cli_to_rotate', '--expires', '2001-01-01').stderr, /--expires must be an ISO date or time in the future/);
  const rotated = cli('key', 'rotate', 'key_cli_to_rotate', '--overlap', '2', '--id', 'key_cli_rotated', '--expires', '2031-06-01T00:00:00Z');
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(rotated.stdout, /key key_cli_rotated replaces key_cli_to_rotate for acme-buyer \(state v\d+\); key_cli_to_rotate works until \d{4}-/);
  const newSecret = /secret \(shown once, store it now\): (\S+)/.exec(rotated.stdout)?.[1];
  assert.ok(newSecret && newSecret !== oldSecret, rotated.stdout);
  await eventually(async () => (await env.get('/shop/items', newSecret)).status === 200);
  assert.equal((await env.get('/shop/items', oldSecret)).status, 200, 'the old key works during the overlap');
  await eventually(async () => (await env.get('/shop/items', oldSecret)).status === 401, 8000);
  assertProblem(await env.get('/shop/items', oldSecret), 401, 'credential_expired');
  const item = await env.adm('GET', '/v1/keys/key_cli_to_rotate', tokens.operator);
  const data = (item.json.item as { data: { replacedBy?: string; scopes: string[]; hash?: string } }).data;
  assert.equal(data.replacedBy, 'key_cli_rotated');
  const fresh = (await env.adm('GET', '/v1/keys/key_cli_rotated', tokens.operator)).json.item as { data: { scopes: string[]; consumer: string } };
  assert.deepEqual([fresh.data.consumer, fresh.data.scopes], ['acme-buyer', ['shop:read']], 'the new key keeps the consumer and scopes');
  assert.equal((fresh.data as { expiresAt?: string }).expiresAt, '2031-06-01T00:00:00.000Z');
  const again = cli('key', 'rotate', 'key_cli_to_rotate', '--id', 'key_cli_rotated');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /key key_cli_rotated already exists/);
  assert.notEqual(cli('key', 'rotate', 'key_cli_rotated', '--overlap', 'soon').status, 0, 'a non-numeric overlap is a usage error');
  const badId = cli('key', 'rotate', 'key_cli_rotated', '--id', 'a b/../x');
  assert.notEqual(badId.status, 0, 'an id the admin API would refuse is refused here too');
  assert.match(badId.stderr, /--id must be letters, digits/);
});

test('key create for an unknown consumer and key revoke without a reason are refused, changing nothing', () => {
  const unknown = cli('key', 'create', '--consumer', 'nobody');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no consumer nobody/);
  const noReason = cli('key', 'revoke', 'key_buyer');
  assert.notEqual(noReason.status, 0);
  assert.match(noReason.stderr, /--reason/);
  assert.doesNotMatch(cli('key', 'list', '--consumer', 'acme-buyer').stdout, /key_buyer .*revoked/);
});
