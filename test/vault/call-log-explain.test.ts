import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CallLogWriter } from '../../src/log/call-log-writer.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { runCli } from '../support/cli.ts';
import { allPermissions, app, fetchToken, httpsRequest, sdkClient, settingsFor, startTestVault, TENANT, type TestVault } from './support.ts';

// Vault refusals land in the gateway's call log, so `pinpoint explain` covers them; every
// operation leaves an audit record; no secret value reaches any of those files.

const owner = app('log-owner', { displayName: 'billing-service' });
const lookalike = app('log-lookalike', { displayName: 'billing-service' });
const reader = app('log-reader');
const lockedOnly = app('log-locked-only');
const SECRET_VALUE = 'pinpoint-canary-Zq8#value';
let dir: string;
let writer: CallLogWriter;
let t: TestVault;

const settings = () => settingsFor([owner, lookalike, reader, lockedOnly], [
  { name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: owner.objectId, secrets: allPermissions }, { objectId: reader.objectId, secrets: ['get', 'list'] }], throttle: { read: { requests: 6, windowSeconds: 60 } } },
  { name: 'locked', tenant: TENANT, accessPolicies: [{ objectId: owner.objectId, secrets: allPermissions }, { objectId: lockedOnly.objectId, secrets: ['get'] }], firewall: { defaultAction: 'Deny', ipRules: ['10.0.0.0/8'] } },
], { defaultVault: 'demo' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinpoint-vault-log-'));
  openDatabase(join(dir, 'pinpoint.db')).close();
  writer = new CallLogWriter(join(dir, 'pinpoint.db'), { maxPending: 10_000, flushIntervalMs: 5, retentionHours: 24, onError: () => undefined });
  t = await startTestVault(settings(), { callLog: writer, dir });
});
after(async () => { await t.close(); await writer.close(); rmSync(dir, { recursive: true, force: true }); });

const requestIdOf = (e: unknown): string => {
  const id = (e as { response?: { headers: { get(n: string): string | undefined } } }).response?.headers.get('x-ms-request-id');
  assert.ok(id, 'the refusal carries x-ms-request-id');
  return id;
};

const explain = async (id: string): Promise<string> => {
  await writer.flush();
  const r = runCli(['explain', id, '--data-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

test('a 403 for an identity without policy is explained: seen identity, identities with policies, and the same-display-name hint', async () => {
  await sdkClient(t, owner).setSecret('db', SECRET_VALUE);
  const err = await sdkClient(t, lookalike).getSecret('db').then(() => null, (e: unknown) => e);
  assert.ok(err);
  const out = await explain(requestIdOf(err));
  assert.match(out, /403 vault_no_access_policy: vault "demo" refused SecretGet \(GET \/secrets\/db\/?\) at check "vault.access-policy"/);
  assert.match(out, /appid=log-lookalike;oid=/);
  assert.match(out, /Identities with policies on "demo": billing-service \(appid=log-owner;oid=/);
  assert.match(out, /You are probably using another client id/);
  assert.match(out, /policy version v1/);
});

test('an identity whose policy is on another vault is asked whether it addresses the wrong vault', async () => {
  const err = await sdkClient(t, lockedOnly).getSecret('db').then(() => null, (e: unknown) => e);
  const out = await explain(requestIdOf(err));
  assert.match(out, /This identity does have a policy on vault\(s\) locked: is the client addressing the wrong vault/);
});

test('a missing permission is explained with what the policy grants and who holds the permission', async () => {
  const err = await sdkClient(t, reader).setSecret('db', 'x').then(() => null, (e: unknown) => e);
  const out = await explain(requestIdOf(err));
  assert.match(out, /403 vault_permission_missing/);
  assert.match(out, /granting \[get list\], but SecretSet needs "set"/);
  assert.match(out, /Identities that hold "set": billing-service \(appid=log-owner/);
});

test('a firewall refusal is explained with the address seen and the rules', async () => {
  const port = new URL(t.url).port;
  // The locked vault by host name, through the raw HTTPS client (no DNS for *.vault.localhost here).
  const token = (await fetchToken(t, owner)).json.access_token as string;
  const r = await httpsRequest(t, `${t.url}/secrets/db?api-version=7.5`, { headers: { authorization: `Bearer ${token}`, host: `locked.vault.localhost:${port}` } });
  assert.equal(r.status, 403);
  const out = await explain(String(r.headers['x-ms-request-id']));
  assert.match(out, /403 vault_firewall_denied/);
  assert.match(out, /client address 127\.0\.0\.1\. Its firewall's default action is Deny and no IP rule matches \(rules: 10\.0\.0\.0\/8\)/);
});

test('a throttled read is explained with the window and when it frees', async () => {
  const client = sdkClient(t, owner);
  let refusal: unknown = null;
  for (let i = 0; i < 10 && !refusal; i++) refusal = await client.getSecret('db').then(() => null, (e: unknown) => e);
  assert.ok(refusal, 'the read limit of 6 per 60 s was reached');
  const out = await explain(requestIdOf(refusal));
  assert.match(out, /429 vault_throttled/);
  assert.match(out, /allows 6 read operations per 60 s; 6 were used in the current window, which frees at \d{4}-/);
});

test('the unauthenticated challenge is in the call log as credential_missing', async () => {
  const r = await httpsRequest(t, `${t.url}/secrets/db?api-version=7.5`);
  const out = await explain(String(r.headers['x-ms-request-id']));
  assert.match(out, /401 credential_missing/);
  assert.match(out, /normal first request of an Azure SDK client|first request without one/);
});

test('every operation has an audit record with identity, ip, operation, result, status, duration and reason, and no file holds the secret value', async () => {
  const refused = await fetchToken(t, { ...owner, secret: 'wrong-client-secret-canary' });
  assert.equal(refused.status, 401);
  await writer.flush();
  await new Promise((r) => setTimeout(r, 100));
  const lines = readFileSync(join(dir, 'vault-audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const set = lines.find((l) => l.operation === 'SecretSet' && l.result === 'success');
  assert.ok(set);
  assert.deepEqual(Object.keys(set).sort(), ['clientIp', 'durationMs', 'identity', 'operation', 'policyVersion', 'reason', 'requestId', 'result', 'secretName', 'status', 'ts', 'vault'].sort());
  assert.equal((set.identity as { appid: string }).appid, 'log-owner');
  const denied = lines.find((l) => l.reason === 'vault_no_access_policy');
  assert.ok(denied);
  assert.equal(denied.secretName, undefined, 'a denied caller does not get the name recorded');
  const tokens = lines.filter((l) => l.operation === 'TokenRequest');
  assert.ok(tokens.some((l) => l.result === 'success' && (l.identity as { appid: string }).appid === 'log-owner'));
  assert.ok(tokens.some((l) => l.result === 'denied' && l.reason === 'invalid_client' && l.status === 401));
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    for (const secret of [SECRET_VALUE, 'wrong-client-secret-canary', owner.secret]) assert.ok(!bytes.includes(Buffer.from(secret)), `${f} holds ${secret}`);
  }
});
