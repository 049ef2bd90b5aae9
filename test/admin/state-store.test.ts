import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StateConflictError, type StateStore } from '../../src/store/state-store.ts';
import { SqliteStateStore } from '../../src/store/sqlite/state-store.ts';
import { stateAt } from '../../src/explain/tenancy.ts';
import { loadSnapshot } from '../../src/tenancy/runtime.ts';

// The contract every StateStore implementation keeps (a PostgreSQL one runs the same suite:
// add its factory to `implementations`).

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const implementations: Record<string, () => StateStore> = {
  sqlite: () => {
    const dir = mkdtempSync(join(tmpdir(), 'pinpoint-state-'));
    dirs.push(dir);
    return new SqliteStateStore(join(dir, 'state.db'));
  },
};

const actor = { id: 'tester', role: 'operator' };
const tenant = (id: string, name?: string) => ({ id, status: 'active' as const, ...(name ? { name } : {}) });

for (const [name, make] of Object.entries(implementations)) {
  describe(`${name} state store`, () => {
    test('each commit is the next version, and entities carry the version that last changed them', async () => {
      const s = make();
      assert.equal(await s.latestVersion(), 0);
      const v1 = await s.commit({ actor, summary: 'a', changes: [{ kind: 'tenant', id: 'acme', before: null, after: tenant('acme') }], now: 1000 });
      const v2 = await s.commit({ actor, summary: 'b', changes: [{ kind: 'consumer', id: 'app', before: null, after: { id: 'app', tenant: 'acme', status: 'active', jwtSubjects: [] } }], now: 2000 });
      assert.deepEqual([v1.version, v2.version], [1, 2]);
      const cur = await s.loadCurrent();
      assert.equal(cur.version, 2);
      assert.equal(cur.entities.find((e) => e.id === 'app')!.version, 2);
      assert.equal(cur.entities.find((e) => e.id === 'app')!.tenant, 'acme');
      await s.close();
    });

    test('a change whose `before` is not the current data is refused as a conflict, and nothing of the set is applied', async () => {
      const s = make();
      await s.commit({ actor, summary: 'a', changes: [{ kind: 'tenant', id: 'acme', before: null, after: tenant('acme') }], now: 1 });
      await assert.rejects(s.commit({ actor, summary: 'stale', now: 2, changes: [
        { kind: 'tenant', id: 'globex', before: null, after: tenant('globex') },
        { kind: 'tenant', id: 'acme', before: tenant('acme', 'stale view'), after: tenant('acme', 'new') },
      ] }), StateConflictError);
      assert.equal(await s.latestVersion(), 1);
      assert.equal((await s.loadCurrent()).entities.length, 1);
      await s.close();
    });

    test('the audit trail has who, what, when, before and after, newest first; a keys\' tenant comes from its consumer', async () => {
      const s = make();
      await s.commit({ actor, summary: 'setup', now: 10, changes: [
        { kind: 'tenant', id: 'acme', before: null, after: tenant('acme') },
        { kind: 'consumer', id: 'app', before: null, after: { id: 'app', tenant: 'acme', status: 'active', jwtSubjects: [] } },
        { kind: 'key', id: 'k1', before: null, after: { id: 'k1', consumer: 'app', hash: `sha256:${'a'.repeat(64)}`, scopes: [], roles: [] } },
      ] });
      await s.commit({ actor: { id: 'other', role: 'tenant-admin' }, summary: 'rename', now: 20, changes: [{ kind: 'tenant', id: 'acme', before: tenant('acme'), after: tenant('acme', 'Acme') }] });
      const all = await s.audit({});
      assert.deepEqual(all.map((e) => [e.version, e.kind, e.action]), [[2, 'tenant', 'update'], [1, 'key', 'create'], [1, 'consumer', 'create'], [1, 'tenant', 'create']]);
      assert.equal(all[0]!.actor.id, 'other');
      assert.equal(all[0]!.at, 20);
      assert.equal(all[0]!.beforeVersion, 1);
      assert.equal((await s.audit({ kind: 'key' }))[0]!.tenant, 'acme');
      assert.equal((await s.audit({ tenant: 'globex' })).length, 0);
      await s.close();
    });

    test('any older state is the current one with later changes undone', async () => {
      const s = make();
      await s.commit({ actor, summary: '1', now: 1, changes: [{ kind: 'tenant', id: 'acme', before: null, after: tenant('acme') }] });
      await s.commit({ actor, summary: '2', now: 2, changes: [{ kind: 'tenant', id: 'acme', before: tenant('acme'), after: tenant('acme', 'Acme') }, { kind: 'tenant', id: 'globex', before: null, after: tenant('globex') }] });
      await s.commit({ actor, summary: '3', now: 3, changes: [{ kind: 'tenant', id: 'globex', before: tenant('globex'), after: null }] });
      const v1 = await stateAt(s, 1);
      assert.deepEqual([...v1.entities.tenant.values()].map((t) => [t.id, t.data.name ?? null, t.version]), [['acme', null, 1]]);
      const v2 = await stateAt(s, 2);
      assert.deepEqual([...v2.entities.tenant.keys()].sort(), ['acme', 'globex']);
      assert.equal(v2.entities.tenant.get('acme')!.data.name, 'Acme');
      const now = await loadSnapshot(s);
      assert.deepEqual([...now.entities.tenant.keys()], ['acme']);
      assert.deepEqual((await s.versionsAfter(1, 10)).map((v) => [v.version, v.summary]), [[2, '2'], [3, '3']]);
      await s.close();
    });
  });
}
