import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TraceRecord } from '../../src/log/trace.ts';
import { timeSeries, topOffenders } from '../../src/analytics/series.ts';
import { accessAudit } from '../../src/analytics/access-audit.ts';
import { findJumps } from '../../src/analytics/what-changed.ts';
import type { AlertQuery } from '../../src/store/call-log-reader.ts';
import { parseCallLines, toCallLine } from '../../src/store/sqlite/call-log-store.ts';
import type { StateStore } from '../../src/store/state-store.ts';
import { emptyMaps } from '../../src/tenancy/state.ts';
import type { StoreFactory } from './store-contract.ts';
import { trace } from './store-contract.ts';

// The analytics, access-review and alert queries give the same answers on every store: each
// store is held to the same expected numbers (not merely compared with the other), over one
// small call log whose callers are known by identity, by refusal evidence or not at all.

const T0 = 1_699_999_200_000; // a whole hour
const MIN = 60_000;
const id = (consumer: string, credential: string, tenant: string) => ({ kind: 'api_key' as const, credentialId: credential, consumerId: consumer, tenantId: tenant, subject: consumer, scopes: [], roles: [] });
const expired = (requestId: string, ts: number): TraceRecord => trace(requestId, {
  ts, status: 401, code: 'credential_expired', deniedBy: 'api-key', identity: null, configVersion: 2, stateVersion: 6,
  checks: [{ id: 'api-key', phase: 'authn', outcome: 'deny', code: 'credential_expired', evidence: { key_id: 'k3', consumer: 'c3', tenant: 't2' }, micros: 2 }],
});

export const callLog: TraceRecord[] = [
  trace('a', { ts: T0 + 1000, status: 200, code: null, answeredBy: 'upstream', deniedBy: null, method: 'GET', identity: id('c1', 'k1', 't1'), configVersion: 1, stateVersion: 5,
    checks: [{ id: 'access-policy', phase: 'authz', outcome: 'continue', evidence: { policy: 'p-allow' }, micros: 1 }] }),
  trace('b', { ts: T0 + 2000, identity: id('c2', 'k2', 't1'), configVersion: 1, stateVersion: 5 }),
  expired('c', T0 + MIN + 1000),
  expired('d', T0 + MIN + 2000),
  trace('e', { ts: T0 + MIN + 3000, status: 404, code: 'route_not_found', deniedBy: 'router', routeId: null, identity: null, checks: [], clientIp: '10.0.0.9', configVersion: 2, stateVersion: 6 }),
  trace('f', { ts: T0 + MIN + 4000, status: 200, code: null, answeredBy: 'upstream', deniedBy: null, method: 'GET', path: '/api/orders/\u0000\u0001"\\', identity: id('c1', 'k1', 't1'), configVersion: 2, stateVersion: 6, checks: [] }),
];

const rows = (records: TraceRecord[]) => parseCallLines(records.map(toCallLine).join(''));
const scope = { from: T0, to: T0 + 2 * MIN };
const noState = { version: async () => null, audit: async () => [] } as unknown as StateStore;

export function callLogReaderContract(name: string, factory: StoreFactory): void {
  describe(`${name} store: call-log analytics`, () => {
    test('the series counts requests and refusals per bucket and per reason, consumer, tenant and credential', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows(callLog));
      assert.deepEqual(await timeSeries(s.log, scope, MIN, 'reason'), [
        { t: T0, total: 2, refused: 1, by: { insufficient_scope: 1 } },
        { t: T0 + MIN, total: 4, refused: 3, by: { credential_expired: 2, route_not_found: 1 } },
      ]);
      assert.deepEqual((await timeSeries(s.log, scope, MIN, 'consumer')).map((p) => p.by), [{ c1: 1, c2: 1 }, { c3: 2, '(none)': 1, c1: 1 }]);
      assert.deepEqual((await timeSeries(s.log, scope, MIN, 'tenant')).map((p) => p.by), [{ t1: 2 }, { t2: 2, '(none)': 1, t1: 1 }]);
      assert.deepEqual((await timeSeries(s.log, scope, MIN, 'credential')).map((p) => p.by), [{ k1: 1, k2: 1 }, { k3: 2, '(none)': 1, k1: 1 }]);
      assert.deepEqual((await timeSeries(s.log, scope, MIN, 'status')).map((p) => p.by), [{ 200: 1, 403: 1 }, { 401: 2, 404: 1, 200: 1 }]);
      assert.deepEqual((await timeSeries(s.log, { ...scope, code: 'credential_expired' }, 2 * MIN, 'route')).map((p) => p.by), [{ orders: 2 }]);
    });

    test('a tenant scope keeps calls by its consumers or to its routes', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows(callLog));
      const total = async (tenant: { id: string; routes: string[] }) => (await timeSeries(s.log, { ...scope, tenant }, 2 * MIN, 'reason')).reduce((a, p) => a + p.total, 0);
      assert.equal(await total({ id: 't2', routes: [] }), 2, 'by refusal evidence');
      assert.equal(await total({ id: 't1', routes: [] }), 3, 'by identity');
      assert.equal(await total({ id: 't9', routes: ['orders'] }), 5, 'by route');
    });

    test('top offenders rank who is refused most, with their reasons', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows(callLog));
      assert.deepEqual(await topOffenders(s.log, scope, 'consumer', 10), [
        { key: 'c3', refused: 2, total: 2, codes: { credential_expired: 2 } },
        { key: '(none)', refused: 1, total: 1, codes: { route_not_found: 1 } },
        { key: 'c2', refused: 1, total: 1, codes: { insufficient_scope: 1 } },
      ]);
      assert.deepEqual(await topOffenders(s.log, scope, 'clientIp', 1), [{ key: '127.0.0.1', refused: 3, total: 5, codes: { insufficient_scope: 1, credential_expired: 2 } }]);
    });

    test('a jump in refusals names the config version it was decided under and the one before', async (t) => {
      const s = await factory.fresh(t);
      await s.recordConfigVersion('h1', 'a.yaml', 'one', T0 - 5000);
      await s.recordConfigVersion('h2', 'a.yaml', 'two', T0 + MIN);
      await s.insertBatch(rows(callLog));
      assert.deepEqual(await s.log.dominantVersions(T0 + MIN, T0 + 2 * MIN, undefined), { configVersion: 2, stateVersion: 6 });
      assert.deepEqual(await s.log.versionsBefore(T0, T0 + MIN), { configVersion: 1, stateVersion: 5 });
      const jumps = await findJumps(s, noState, scope, { bucketMs: MIN, minRefusals: 3, factor: 2 });
      assert.equal(jumps.length, 1);
      assert.deepEqual({ ...jumps[0], stateChange: null }, {
        at: T0 + MIN, bucketMs: MIN, refused: 3, baseline: 1, codes: { credential_expired: 2, route_not_found: 1 }, routes: { orders: 2, '(none)': 1 },
        configVersion: 2, stateVersion: 6, configChange: { version: 2, loadedAt: T0 + MIN, file: 'a.yaml' }, stateChange: null,
      });
    });

    test('the access review reads usage, admitted calls and matched policies from the log', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows(callLog));
      assert.equal(await s.log.logWindowStart(), T0 + 1000);
      const usage = (await s.log.credentialUsage()).sort((a, b) => a.k.localeCompare(b.k));
      assert.deepEqual(usage, [{ k: 'k1', last: T0 + MIN + 4000, n: 2 }, { k: 'k2', last: T0 + 2000, n: 1 }, { k: 'k3', last: T0 + MIN + 2000, n: 2 }]);
      assert.deepEqual(await s.log.admittedCalls(), [{ k: 'k1', r: 'orders', m: 'GET' }]);
      assert.deepEqual(await s.log.matchedPolicies(), ['p-allow']);
      const audit = await accessAudit(s.log, emptyMaps(), [], { now: T0 + 2 * MIN, unusedDays: 30, expiringDays: 14, manyTenants: 2 });
      assert.deepEqual(audit.window, { from: T0 + 1000, to: T0 + 2 * MIN });
    });

    test('an alert rule counts matching and total calls per group, and samples the newest matches', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows(callLog));
      const q: AlertQuery = { ...scope, status: [401, 403], groupBy: 'consumer', limit: 100 };
      assert.deepEqual(await s.log.alertCounts(q), [{ group: 'c1', matching: 0, total: 2 }, { group: 'c2', matching: 1, total: 1 }, { group: 'c3', matching: 2, total: 2 }]);
      assert.deepEqual(await s.log.alertCounts({ ...scope, routes: ['orders'], codes: ['credential_expired'], groupBy: 'none', limit: 100 }), [{ group: '', matching: 2, total: 5 }]);
      assert.deepEqual(await s.log.alertCounts({ ...scope, origin: 'upstream', groupBy: 'tenant', tenants: ['t1'], limit: 100 }), [{ group: 't1', matching: 2, total: 3 }]);
      assert.deepEqual(await s.log.alertCounts({ ...scope, consumers: ['c3'], codes: ['credential_expired'], groupBy: 'credential', limit: 100 }), [{ group: 'k3', matching: 2, total: 2 }]);
      assert.deepEqual(await s.log.alertCounts({ from: T0 + MIN, to: T0 + MIN + 2000, status: [401], groupBy: 'route', limit: 100 }), [{ group: 'orders', matching: 1, total: 1 }], 'the window is [from, to)');
      assert.deepEqual(await s.log.alertSamples(q, 'c3', 5), [{ requestId: 'd', configVersion: 2, stateVersion: 6 }, { requestId: 'c', configVersion: 2, stateVersion: 6 }]);
      assert.deepEqual(await s.log.alertSamples(q, 'c1', 5), []);
    });

    test('retention rolls old calls into hourly rows: series and top offenders keep counting them', async (t) => {
      const s = await factory.fresh(t);
      // 120 calls one minute apart (two hours), a third of them refused.
      const records = Array.from({ length: 120 }, (_, i) => trace(`r${i}`, { ts: T0 + i * MIN, ...(i % 3 === 0 ? {} : { status: 200, code: null, answeredBy: 'upstream', deniedBy: null }) }));
      await s.insertBatch(rows(records));
      const wide = { from: T0, to: T0 + 2 * 3600_000 };
      const before = await timeSeries(s.log, wide, 3600_000, 'reason');
      assert.equal(await s.deleteOlderThan(T0 + 90 * MIN), 90);
      assert.equal((await s.recentTraces(1000)).length, 30);
      assert.deepEqual(await timeSeries(s.log, wide, 3600_000, 'reason'), before);
      assert.deepEqual(await topOffenders(s.log, wide, 'tenant', 5), [{ key: 'acme', refused: 40, total: 120, codes: { insufficient_scope: 40 } }]);
      await s.reset();
      assert.deepEqual((await timeSeries(s.log, wide, 3600_000, 'reason')).map((p) => p.total), [0, 0], 'reset forgets the rollups too');
    });
  });
}
