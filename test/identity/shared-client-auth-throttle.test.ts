import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisCounterStore } from '../../src/limits/redis-counter-store.ts';
import { RedisFailureCounter } from '../../src/limits/redis-failure-counter.ts';
import { redisUrl, uniquePrefix } from '../support/services.ts';
import { app, httpsRequest, settingsFor, startTestVault, TENANT, type TestVault } from '../vault/support.ts';

// Two token services on one Redis key prefix (demo --workers N --redis runs one per worker):
// wrong client secrets sent to either count against one budget per address.

const a = app('shared-throttle-app');
const stores: RedisCounterStore[] = [];
const vaults: TestVault[] = [];
before(async () => {
  const prefix = uniquePrefix('tokenshare');
  const base = settingsFor([a], [{ name: 'demo', tenant: TENANT, accessPolicies: [{ objectId: a.objectId, secrets: ['get'] }] }]) as Record<string, unknown>;
  const settings = { ...base, tokenService: { tenants: [TENANT], clientAuthThrottle: { maxFailures: 3, windowSeconds: 30, globalMaxFailures: 1000, maxTrackedClients: 100 } } };
  for (let i = 0; i < 2; i++) stores.push(new RedisCounterStore({ url: redisUrl, prefix }));
  await Promise.all(stores.map((s) => s.ready()));
  vaults.push(...await Promise.all(stores.map((s) => startTestVault(settings, { sharedAuthFailures: new RedisFailureCounter({ redis: s.redis, prefix }) }))));
});
after(async () => {
  await Promise.all(vaults.map((v) => v.close()));
  await stores[0]?.clear();
  for (const s of stores) s.close();
});

const token = (t: TestVault, secret: string) => httpsRequest(t, `${t.url}/${TENANT}/oauth2/v2.0/token`, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'https://vault.localhost/.default', client_id: a.clientId, client_secret: secret }).toString(),
});

test('3 wrong secrets spread over two token services lock the address on both: the right secret gets 429 temporarily_unavailable', async () => {
  const [one, two] = [vaults[0]!, vaults[1]!];
  assert.equal((await token(one, a.secret)).status, 200, 'a success gives its unit back');
  for (let i = 0; i < 3; i++) {
    const r = await token(i % 2 ? two : one, `guess-${i}`);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error, 'invalid_client');
  }
  for (const t of [one, two]) {
    const right = await token(t, a.secret);
    assert.equal(right.status, 429, right.text);
    assert.equal(right.json.error, 'temporarily_unavailable');
    assert.ok(Number(right.headers['retry-after']) > 20, `Retry-After ${right.headers['retry-after']}`);
  }
});
