import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { TraceRecord } from '../../src/log/trace.ts';
import { parseCallLines, toCallLine } from '../../src/store/sqlite/call-log-store.ts';
import type { Store } from '../../src/store/store.ts';

// One behaviour for every Store: the embedded SQLite file and PostgreSQL must keep and
// return the call log and the config versions identically.

export interface StoreFactory {
  /** A fresh, empty store. */
  fresh(t: TestContext): Promise<Store>;
  /** Another handle on the same store (another process or node). */
  again(t: TestContext, store: Store): Promise<Store>;
}

export const trace = (requestId: string, extra: Partial<TraceRecord> = {}): TraceRecord => ({
  requestId, ts: 1_700_000_000_000, configVersion: 1, routeId: 'orders', method: 'POST', path: '/api/orders', query: '', host: null,
  clientIp: '127.0.0.1', peerIp: '127.0.0.1', clientIpVia: 'peer', status: 403, code: 'insufficient_scope', answeredBy: 'gateway', deniedBy: 'scopes',
  identity: { kind: 'api_key', credentialId: 'key_1', consumerId: 'acme-reader', tenantId: 'acme', subject: 'acme-reader', scopes: ['orders:read'], roles: [] },
  checks: [{ id: 'scopes', phase: 'authz', outcome: 'deny', code: 'insufficient_scope', evidence: { required: ['orders:write'], seen: ['orders:read'] }, micros: 3 }],
  request: { headers: { 'user-agent': 'test' }, contentLength: 12, contentType: 'application/json', userAgent: 'test' }, upstream: null, durationMs: 0.25,
  ...extra,
});

const rows = (records: TraceRecord[]) => parseCallLines(records.map(toCallLine).join(''));

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name} store: call log`, () => {
    test('a stored trace reads back exactly as written, whatever its strings contain', async (t) => {
      const s = await factory.fresh(t);
      const nasty = 'ctl \u0001\u0002\u0000 quote " backslash \\ newline \n emoji 🙂 \u2028';
      const records = [trace('a'), trace('b', { path: nasty, query: nasty }), trace('c', { status: 201, code: null, answeredBy: 'upstream' })];
      await s.insertBatch(rows(records));
      for (const r of records) assert.deepEqual(await s.findTrace(r.requestId), r);
      assert.equal(await s.findTrace('missing'), null);
    });

    test('recent traces come newest first', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows([trace('1'), trace('2')]));
      await s.insertBatch(rows([trace('3')]));
      assert.deepEqual((await s.recentTraces(2)).map((r) => r.requestId), ['3', '2']);
    });

    test('a request id written twice keeps the last trace', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows([trace('dup', { status: 401 })]));
      await s.insertBatch(rows([trace('dup', { status: 429 })]));
      assert.equal((await s.findTrace('dup'))?.status, 429);
      assert.equal((await s.recentTraces(10)).length, 1);
    });

    test('retention deletes calls older than the cutoff and keeps the rest', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows([1, 2, 3, 4, 5].map((n) => trace(`id-${n}`, { ts: n * 1000 }))));
      assert.equal(await s.deleteOlderThan(3500), 3);
      assert.deepEqual((await s.recentTraces(10)).map((r) => r.requestId), ['id-5', 'id-4']);
      assert.equal(await s.deleteOlderThan(3500), 0);
    });

    test('stats are upserted by name', async (t) => {
      const s = await factory.fresh(t);
      await s.setStat('dropped_records', 3, 1);
      await s.setStat('dropped_records', 7, 2);
      assert.deepEqual(await s.readStats(), { dropped_records: 7 });
    });

    test('a call written through one handle is found through another', async (t) => {
      const s = await factory.fresh(t);
      const other = await factory.again(t, s);
      await s.insertBatch(rows([trace('shared')]));
      assert.equal((await other.findTrace('shared'))?.requestId, 'shared');
    });
  });

  describe(`${name} store: config versions`, () => {
    test('the first config is version 1, the same text keeps its number and a new text takes the next', async (t) => {
      const s = await factory.fresh(t);
      assert.equal(await s.latestConfigVersion(), null);
      assert.equal(await s.recordConfigVersion('h1', 'a.yaml', 'one', 10), 1);
      assert.equal(await s.recordConfigVersion('h1', 'a.yaml', 'one', 20), 1);
      assert.equal(await s.recordConfigVersion('h2', 'a.yaml', 'two', 30), 2);
      assert.equal(await s.recordConfigVersion('h1', 'a.yaml', 'one', 40), 3, 'going back to an older text is a new version');
      assert.deepEqual(await s.getConfigVersion(2), { version: 2, hash: 'h2', file: 'a.yaml', loadedAt: 30, text: 'two' });
      assert.deepEqual(await s.latestConfigVersion(), { version: 3, hash: 'h1', file: 'a.yaml', loadedAt: 40, text: 'one' });
      assert.equal(await s.getConfigVersion(9), null);
    });

    test('handles recording at the same moment agree on the numbers: no gap, no duplicate', async (t) => {
      const s = await factory.fresh(t);
      const handles = [s, await factory.again(t, s), await factory.again(t, s)];
      const got = await Promise.all(handles.flatMap((h, i) => [0, 1, 2].map((j) => h.recordConfigVersion(`h${i}-${j}`, 'f', `t${i}-${j}`, 1))));
      assert.deepEqual([...got].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const same = await Promise.all(handles.map((h) => h.recordConfigVersion('same', 'f', 'same', 2)));
      assert.deepEqual(same, [10, 10, 10]);
    });

    test('reset forgets calls, versions and stats; numbering starts again at 1', async (t) => {
      const s = await factory.fresh(t);
      await s.insertBatch(rows([trace('x')]));
      await s.recordConfigVersion('h', 'f', 't', 1);
      await s.setStat('dropped_records', 1, 1);
      await s.reset();
      assert.equal(await s.findTrace('x'), null);
      assert.equal(await s.latestConfigVersion(), null);
      assert.deepEqual(await s.readStats(), {});
      assert.equal(await s.recordConfigVersion('h2', 'f', 't2', 2), 1);
    });

    test('reopening an existing store applies no migration twice and keeps the data', async (t) => {
      const s = await factory.fresh(t);
      await s.recordConfigVersion('h', 'f', 't', 1);
      const reopened = await factory.again(t, s);
      assert.equal((await reopened.latestConfigVersion())?.version, 1);
    });
  });
}
