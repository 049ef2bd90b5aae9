import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem } from '../support/assertions.ts';
import { keys, startTenancyEnv, tokens, type TenancyEnv } from './support.ts';

// The admin API over real HTTP: its own listener and credentials, tenant isolation, the
// subscription workflow, keys shown once, versions and the audit trail.

let env: TenancyEnv;
before(async () => { env = await startTenancyEnv(); });
after(async () => { await env.close(); });

type Item = { id: string; tenant: string; version: number; data: Record<string, unknown> };
const items = (a: { json: Record<string, unknown> }) => a.json.items as Item[];

describe('admin authentication and roles', () => {
  test('the admin API listens on its own port and the data plane does not serve it', async () => {
    assert.notEqual(env.admin.port, env.gw.gateway.port);
    assertProblem(await env.get('/v1/tenants'), 404, 'route_not_found');
  });

  test('no token gets 401 admin_unauthenticated with a Bearer challenge; an API key is not an admin token', async () => {
    const a = await env.adm('GET', '/v1/tenants', null);
    assertProblem(a, 401, 'admin_unauthenticated');
    assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer /);
    assertProblem(await env.adm('GET', '/v1/tenants', keys.buyer), 401, 'admin_unauthenticated');
  });

  test('the auditor reads every tenant but cannot change anything', async () => {
    const list = await env.adm('GET', '/v1/consumers', tokens.auditor);
    assert.equal(list.status, 200);
    assert.ok(items(list).some((c) => c.tenant === 'globex') && items(list).some((c) => c.tenant === 'acme'));
    assertProblem(await env.adm('POST', '/v1/consumers', tokens.auditor, { id: 'x', tenant: 'acme' }), 403, 'admin_forbidden');
    assertProblem(await env.adm('POST', '/v1/keys/key_buyer/revoke', tokens.auditor, { reason: 'no' }), 403, 'admin_forbidden');
  });

  test('only an operator creates tenants', async () => {
    assertProblem(await env.adm('POST', '/v1/tenants', tokens.acme, { id: 'initech' }), 403, 'admin_forbidden');
    const a = await env.adm('POST', '/v1/tenants', tokens.operator, { id: 'initech', name: 'Initech' });
    assert.equal(a.status, 201, a.text);
    assert.equal((a.json.item as Item).data.status, 'active');
  });
});

describe('tenant isolation: a tenant admin never reads or changes another tenant', () => {
  test('lists hold only its own tenant\'s entities', async () => {
    for (const path of ['/v1/tenants', '/v1/consumers', '/v1/apis', '/v1/policies', '/v1/subscriptions', '/v1/resource-owners']) {
      const a = await env.adm('GET', path, tokens.acme);
      assert.equal(a.status, 200, path);
      assert.ok(items(a).length > 0, `${path} is not empty`);
      assert.ok(items(a).every((e) => e.tenant === 'acme'), `${path} holds only acme: ${items(a).map((e) => e.tenant).join(',')}`);
    }
  });

  test('reading, changing or deleting a globex entity answers 404, as if it did not exist', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/consumers/globex-app', undefined], ['PATCH', '/v1/consumers/globex-app', { name: 'pwned' }], ['DELETE', '/v1/consumers/globex-app', undefined],
      ['GET', '/v1/apis/stock', undefined], ['GET', '/v1/policies/stock-readers', undefined], ['DELETE', '/v1/policies/stock-readers', undefined],
      ['GET', '/v1/keys/key_globex', undefined], ['POST', '/v1/keys/key_globex/revoke', { reason: 'x' }], ['POST', '/v1/keys/key_globex/rotate', {}],
      ['GET', '/v1/consumers/globex-app/keys', undefined], ['POST', '/v1/consumers/globex-app/keys', {}],
      ['GET', '/v1/subscriptions/globex-app.stock', undefined], ['POST', '/v1/subscriptions/globex-app.stock/revoke', {}], ['GET', '/v1/tenants/globex', undefined],
    ] as const) {
      assertProblem(await env.adm(method, path, tokens.acme, body), 404, 'admin_not_found');
    }
    const still = await env.adm('GET', '/v1/consumers/globex-app', tokens.operator);
    assert.equal((still.json.item as Item).data.name, undefined, 'nothing of globex changed');
    assert.equal((await env.get('/stock', keys.globex)).status, 200, 'globex\'s key still works');
  });

  test('creating entities in another tenant or pointing at another tenant\'s API is refused with the field named', async () => {
    const a = await env.adm('POST', '/v1/consumers', tokens.acme, { id: 'spy', tenant: 'globex' });
    assertProblem(a, 403, 'admin_forbidden');
    assert.deepEqual(a.json.errors, [{ path: '/tenant', message: 'must be acme' }]);
    const p = await env.adm('POST', '/v1/policies', tokens.acme, { id: 'grab', tenant: 'acme', api: 'stock', subjects: { consumers: ['acme-buyer'] } });
    assertProblem(p, 400, 'admin_invalid_request');
    assert.equal((p.json.errors as { path: string }[])[0]!.path, '/api');
    const s = await env.adm('POST', '/v1/subscriptions', tokens.acme, { consumer: 'acme-buyer', api: 'stock' });
    assertProblem(s, 400, 'admin_invalid_request');
    const d = await env.adm('POST', '/v1/dry-run', tokens.acme, { changes: [{ op: 'delete', kind: 'policy', id: 'stock-readers' }] });
    assertProblem(d, 400, 'admin_invalid_request');
    assert.equal((d.json.errors as { path: string }[])[0]!.path, '/changes/0/id');
    assertProblem(await env.adm('PATCH', '/v1/apis/stock', tokens.acme, { status: 'retired' }), 404, 'admin_not_found');
  });

  test('logs, explain and the audit trail show a tenant admin only its tenant\'s traffic and changes', async () => {
    const g = await env.get('/stock', keys.globex);
    const id = g.headers.get('x-request-id')!;
    const logs = await env.adm('GET', '/v1/logs?limit=200', tokens.acme);
    assert.equal(logs.status, 200);
    assert.ok(!(logs.json.items as { requestId: string }[]).some((t) => t.requestId === id));
    assert.ok((await env.adm('GET', '/v1/logs?limit=200', tokens.globex)).json.items instanceof Array);
    assert.ok(((await env.adm('GET', '/v1/logs?limit=200', tokens.globex)).json.items as { requestId: string }[]).some((t) => t.requestId === id));
    assertProblem(await env.adm('GET', `/v1/explain/${id}`, tokens.acme), 404, 'admin_not_found');
    assert.equal((await env.adm('GET', `/v1/explain/${id}`, tokens.globex)).status, 200);
    const audit = await env.adm('GET', '/v1/audit?limit=500', tokens.acme);
    assert.ok((audit.json.items as { tenant: string }[]).every((e) => e.tenant === 'acme'));
  });
});

describe('the subscription workflow', () => {
  test('request -> pending 403 -> approve -> 200 -> revoke -> 403 subscription_required', async () => {
    const req = await env.adm('POST', '/v1/subscriptions', tokens.acme, { consumer: 'acme-stranger', api: 'shop', note: 'please' });
    assert.equal(req.status, 201, req.text);
    assert.equal((req.json.item as Item).data.status, 'requested');
    assertProblem(await env.get('/shop/items', keys.stranger), 403, 'subscription_pending');
    assertProblem(await env.adm('POST', '/v1/subscriptions/acme-stranger.shop/approve', tokens.globex), 404, 'admin_not_found');
    const ok = await env.adm('POST', '/v1/subscriptions/acme-stranger.shop/approve', tokens.acme);
    assert.equal(ok.status, 200, ok.text);
    // The consumer still needs a policy: subscription and authorization are separate decisions.
    assertProblem(await env.get('/shop/items', keys.stranger), 403, 'no_access_policy');
    assert.equal((await env.adm('POST', '/v1/policies', tokens.acme, { id: 'stranger-read', tenant: 'acme', api: 'shop', subjects: { consumers: ['acme-stranger'] }, methods: ['GET'] })).status, 201);
    assert.equal((await env.get('/shop/items', keys.stranger)).status, 200);
    assertProblem(await env.adm('POST', '/v1/subscriptions/acme-stranger.shop/approve', tokens.acme), 409, 'admin_conflict');
    assert.equal((await env.adm('POST', '/v1/subscriptions/acme-stranger.shop/revoke', tokens.acme)).status, 200);
    const after = await env.get('/shop/items', keys.stranger);
    assertProblem(after, 403, 'subscription_required');
    assert.match(after.json.detail as string, /revoked/);
  });

  test('a rejected request stays refused', async () => {
    assert.equal((await env.adm('POST', '/v1/subscriptions/acme-pending.shop/reject', tokens.operator, { note: 'not now' })).status, 200);
    assertProblem(await env.get('/shop/items', keys.pending), 403, 'subscription_required');
  });
});

describe('keys', () => {
  test('a created key is shown once, works at once, and is never readable again', async () => {
    const a = await env.adm('POST', '/v1/consumers/acme-buyer/keys', tokens.acme, { scopes: ['shop:read'], prefix: 'pk_acme' });
    assert.equal(a.status, 201, a.text);
    const secret = a.json.secret as string;
    assert.match(secret, /^pk_acme_[0-9a-f]{8}_/);
    const item = a.json.item as Item;
    assert.equal(item.data.hash, undefined, 'the hash is not returned');
    assert.equal((await env.get('/shop/items', secret)).status, 200);
    const again = await env.adm('GET', `/v1/keys/${item.id}`, tokens.acme);
    assert.ok(!again.text.includes(secret) && !again.text.includes('sha256'));
    const audit = await env.adm('GET', `/v1/audit?kind=key&id=${item.id}`, tokens.acme);
    assert.ok(!audit.text.includes(secret));
    assert.match(audit.text, /sha256:…\(redacted\)/);
  });

  test('rotation issues a new key and keeps the old one working during the overlap; revocation ends it with 401 credential_revoked', async () => {
    const created = await env.adm('POST', '/v1/consumers/acme-buyer/keys', tokens.acme, { id: 'key_rot', scopes: ['shop:read'] });
    const oldSecret = created.json.secret as string;
    const rotated = await env.adm('POST', '/v1/keys/key_rot/rotate', tokens.acme, { overlapSeconds: 3600 });
    assert.equal(rotated.status, 201, rotated.text);
    const newSecret = rotated.json.secret as string;
    assert.notEqual(newSecret, oldSecret);
    assert.equal((rotated.json.replaces as Item).data.replacedBy, (rotated.json.item as Item).id);
    assert.equal((await env.get('/shop/items', oldSecret)).status, 200, 'old key works during the overlap');
    assert.equal((await env.get('/shop/items', newSecret)).status, 200);
    const revoked = await env.adm('POST', '/v1/keys/key_rot/revoke', tokens.acme, { reason: 'rotation finished early' });
    assert.equal(revoked.status, 200);
    assertProblem(await env.get('/shop/items', oldSecret), 401, 'credential_revoked');
    assert.equal((await env.get('/shop/items', newSecret)).status, 200);
  });

  test('a rotation may give the new key an expiry (in the future only) and keeps a notBefore still ahead; without one the new key has none', async () => {
    await env.adm('POST', '/v1/consumers/acme-buyer/keys', tokens.acme, { id: 'key_rotx', scopes: ['shop:read'], expiresAt: '2031-01-01T00:00:00Z', notBefore: '2030-06-01T00:00:00Z' });
    const past = await env.adm('POST', '/v1/keys/key_rotx/rotate', tokens.acme, { expiresAt: '2001-01-01T00:00:00Z' });
    assertProblem(past, 400, 'admin_invalid_request');
    assert.deepEqual((past.json.errors as { path: string }[]).map((e) => e.path), ['/expiresAt']);
    const rotated = await env.adm('POST', '/v1/keys/key_rotx/rotate', tokens.acme, { expiresAt: '2032-01-01T00:00:00Z', overlapSeconds: 60 });
    assert.equal(rotated.status, 201, rotated.text);
    const fresh = (rotated.json.item as Item).data as { expiresAt?: string; notBefore?: string };
    assert.equal(fresh.expiresAt, '2032-01-01T00:00:00.000Z');
    assert.equal(fresh.notBefore, '2030-06-01T00:00:00Z', 'a rotation does not make a key valid earlier than its original');
    const open = await env.adm('POST', `/v1/keys/${(rotated.json.item as Item).id}/rotate`, tokens.acme, { overlapSeconds: 0 });
    assert.equal(((open.json.item as Item).data as { expiresAt?: string }).expiresAt, undefined);
  });

  test('rotation with no overlap expires the old key at once', async () => {
    const created = await env.adm('POST', '/v1/consumers/acme-buyer/keys', tokens.acme, { id: 'key_rot0', scopes: ['shop:read'] });
    await env.adm('POST', '/v1/keys/key_rot0/rotate', tokens.acme, { overlapSeconds: 0 });
    assertProblem(await env.get('/shop/items', created.json.secret as string), 401, 'credential_expired');
  });
});

describe('validation answers', () => {
  test('wrong fields are listed with JSON pointers', async () => {
    const a = await env.adm('POST', '/v1/policies', tokens.acme, { id: 'bad policy', tenant: 'acme', api: 'shop', effect: 'maybe', subjects: { consumers: [42] }, methods: ['get'] });
    assertProblem(a, 400, 'admin_invalid_request');
    const paths = (a.json.errors as { path: string }[]).map((e) => e.path).sort();
    assert.deepEqual(paths, ['/effect', '/id', '/methods/0', '/subjects/consumers/0']);
  });

  test('a body that is not JSON, an unknown route and a wrong method each get a problem (the wrong method a 405 with Allow)', async () => {
    assertProblem(await env.adm('POST', '/v1/consumers', tokens.acme, '{nope'), 400, 'admin_invalid_request');
    assertProblem(await env.adm('GET', '/v1/nothing', tokens.acme), 404, 'admin_not_found');
    const m = await env.adm('PUT', '/v1/consumers', tokens.acme, {});
    assertProblem(m, 405, 'method_not_allowed');
    assert.match(m.headers.get('allow') ?? '', /GET/);
  });

  test('an API naming a route that does not exist, or one of another API, is refused at the route\'s index', async () => {
    const a = await env.adm('POST', '/v1/apis', tokens.acme, { id: 'shop2', tenant: 'acme', routes: ['items', 'nope'] });
    assert.ok(a.status === 400 || a.status === 409);
    assert.match((a.json.errors as { path: string }[])[0]!.path, /^\/routes\/[01]$/);
  });

  test('an id already taken gets 409 admin_conflict', async () => {
    assertProblem(await env.adm('POST', '/v1/consumers', tokens.acme, { id: 'acme-buyer', tenant: 'acme' }), 409, 'admin_conflict');
  });
});

describe('versions and the audit trail', () => {
  test('every change is one new state version, recorded with who, what, when, before and after', async () => {
    const v0 = (await env.adm('GET', '/v1/status', tokens.acme)).json.stateVersion as number;
    const a = await env.adm('PATCH', '/v1/consumers/acme-reports', tokens.acme, { name: 'Acme reporting v2' });
    assert.equal(a.status, 200);
    assert.equal(a.json.stateVersion, v0 + 1);
    assert.equal((a.json.item as Item).version, v0 + 1, 'the entity carries the version that last changed it');
    const audit = await env.adm('GET', '/v1/audit?kind=consumer&id=acme-reports&limit=1', tokens.auditor);
    const e = (audit.json.items as Record<string, unknown>[])[0]!;
    assert.equal(e.version, v0 + 1);
    assert.deepEqual(e.actor, { id: 'acme-admin', role: 'tenant-admin' });
    assert.equal(e.action, 'update');
    assert.equal((e.before as Record<string, unknown>).name, 'Acme reports');
    assert.equal((e.after as Record<string, unknown>).name, 'Acme reporting v2');
    assert.ok(Math.abs((e.at as number) - Date.now()) < 60_000);
  });

  test('a change is live for the very next request, without the gateway reading the store per request', async () => {
    const created = await env.adm('POST', '/v1/consumers/acme-buyer/keys', tokens.acme, { id: 'key_prop', scopes: ['shop:read'] });
    const secret = created.json.secret as string;
    assert.equal((await env.get('/shop/items', secret)).status, 200);
    const started = performance.now();
    const r = await env.adm('POST', '/v1/keys/key_prop/revoke', tokens.operator, { reason: 'propagation test' });
    assert.equal(r.status, 200);
    assertProblem(await env.get('/shop/items', secret), 401, 'credential_revoked');
    const elapsed = performance.now() - started;
    const propagation = (await env.adm('GET', '/v1/status', tokens.operator)).json.lastPropagationMs as number;
    assert.ok(propagation > 0 && propagation < 1000, `propagated in ${propagation} ms`);
    assert.ok(elapsed < 2000, `admin answer + next request took ${elapsed} ms`);
  });
});
