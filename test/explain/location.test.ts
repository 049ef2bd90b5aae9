import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CallLogWriter } from '../../src/log/call-log-writer.ts';
import { findTrace } from '../../src/store/sqlite/call-log-store.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { startTenancyEnv, keys, type TenancyEnv } from '../admin/support.ts';
import { assertProblem } from '../support/assertions.ts';
import { call, startTestGateway, startUpstream, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { app, fetchToken, httpsRequest, settingsFor, startTestVault, TENANT, type TestVault } from '../vault/support.ts';
import { explainAnswer, explainFrom } from './support.ts';

// "refused by ... — rule at ..." names a place a person can open: a config line when one is
// knowable, otherwise the file, the state entity or the vault policy version — never ":0".

const refusedBy = (text: string): string => {
  const line = text.split('\n').find((l) => l.startsWith('refused by'));
  assert.ok(line, text);
  return line;
};

describe('rule locations from the config file', () => {
  let upstream: TestUpstream;
  let t: TestGateway;
  let lines: string[];
  before(async () => {
    upstream = await startUpstream();
    t = await startTestGateway({
      upstreams: { backend: { targets: [{ url: upstream.url }] } },
      routes: [
        { id: 'open', path: '/open', methods: ['GET'], upstream: 'backend' },
        { id: 'orders', path: '/orders', methods: ['GET', 'POST'], upstream: 'backend', auth: ['apiKey'] },
      ],
    });
    lines = readFileSync(t.configFile, 'utf8').split('\n');
  });
  after(async () => { await t?.close(); await upstream?.close(); });

  /** The key above the line a location names (a location points at the key's value), read from the text itself. */
  const keyAt = (r: string, path: string): string => {
    const m = new RegExp(`rule at pinpoint\\.yaml:(\\d+) \\(${path.replace(/[[\].]/g, '\\$&')}\\)$`).exec(r);
    assert.ok(m, r);
    return lines[Number(m[1]) - 2]!;
  };

  test('a 404 points at the line of the routes block, not at line 0 of the full path', async () => {
    const a = await call(`${t.url}/nowhere`);
    assertProblem(a, 404, 'route_not_found');
    const r = refusedBy((await explainAnswer(t, a)).text);
    assert.doesNotMatch(r, /:0\b/);
    assert.equal(keyAt(r, 'routes'), 'routes:');
  });

  test('a 405 points at the methods of the route that exists', async () => {
    const a = await call(`${t.url}/orders`, { method: 'DELETE' });
    assertProblem(a, 405, 'method_not_allowed');
    const r = refusedBy((await explainAnswer(t, a)).text);
    assert.match(keyAt(r, 'routes[1].methods'), /^\s+methods:$/);
  });

  test('a missing credential points at the route\'s auth list instead of "(built-in):0"', async () => {
    const a = await call(`${t.url}/orders`);
    assertProblem(a, 401, 'credential_missing');
    const r = refusedBy((await explainAnswer(t, a)).text);
    assert.doesNotMatch(r, /built-in/);
    assert.match(keyAt(r, 'routes[1].auth'), /^\s+auth:$/);
  });
});

describe('rule locations outside the config file', () => {
  let env: TenancyEnv;
  before(async () => { env = await startTenancyEnv(); });
  after(async () => { await env?.close(); });

  test('a tenancy-state rule is printed as "state: <entity>", without a line', async () => {
    const a = await env.get('/shop/items', keys.pending);
    assertProblem(a, 403, 'subscription_pending');
    const r = refusedBy((await explainAnswer(env.gw, a)).text);
    assert.match(r, /— rule at state: apis\/shop@v\d+$/);
  });
});

describe('vault refusals', () => {
  const reader = app('loc-reader');
  let dir: string;
  let writer: CallLogWriter;
  let v: TestVault;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pinpoint-explain-loc-'));
    openDatabase(join(dir, 'pinpoint.db')).close();
    writer = new CallLogWriter(join(dir, 'pinpoint.db'), { maxPending: 1000, flushIntervalMs: 5, retentionHours: 24, onError: () => undefined });
    v = await startTestVault(settingsFor([reader], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: reader.objectId, secrets: ['get', 'list'] }] }], { defaultVault: 'demo' }), { callLog: writer, dir });
  });
  after(async () => { await v?.close(); await writer?.close(); rmSync(dir, { recursive: true, force: true }); });

  test('a vault policy refusal names the vault.yaml policy version and the policy that decided', async () => {
    const token = (await fetchToken(v, reader)).json.access_token as string;
    const r = await httpsRequest(v, `${v.url}/secrets/db?api-version=7.5`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":"x"}' });
    assert.equal(r.status, 403);
    await writer.flush();
    const db = openDatabase(join(dir, 'pinpoint.db'), { readOnly: true });
    try {
      const trace = findTrace(db, String(r.headers['x-ms-request-id']));
      assert.ok(trace);
      const line = refusedBy(explainFrom(db, trace).text);
      assert.equal(line, 'refused by   vault.access-policy — rule at vault.yaml policy v1 (vault demo: accessPolicies[0])');
    } finally {
      db.close();
    }
  });
});
