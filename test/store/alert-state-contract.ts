import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlertTransition } from '../../src/store/alert-state.ts';
import type { StoreFactory } from './store-contract.ts';

// The alerts' shared memory: a state change is made once however many evaluators try it,
// with its notification in the same transaction, and one handle at a time leads.

const change = (kind: 'firing' | 'resolved', since: number, id: string, rule = 'r1', group = 'g1', ruleHash = 'h1'): AlertTransition => ({
  kind, alert: { rule, group, ruleHash, since }, notification: { id, at: since + 1, body: JSON.stringify({ status: kind, rule, group }), delivery: 'pending' },
});

export function alertStateContract(name: string, factory: StoreFactory & { leaderTtlMatters: boolean }): void {
  describe(`${name} store: alert state`, () => {
    test('of two handles racing to mark an alert firing, exactly one wins and one notification is kept', async (t) => {
      const s = await factory.fresh(t);
      const other = await factory.again(t, s);
      const won = await Promise.all([s.alerts.transition(change('firing', 100, 'n1')), other.alerts.transition(change('firing', 100, 'n2'))]);
      assert.deepEqual(won.filter(Boolean).length, 1, JSON.stringify(won));
      assert.deepEqual(await other.alerts.firing(), [{ rule: 'r1', group: 'g1', ruleHash: 'h1', since: 100 }]);
      assert.equal((await s.alerts.recentNotifications(10)).length, 1);
    });

    test('a resolution applies to the firing it names, once', async (t) => {
      const s = await factory.fresh(t);
      assert.equal(await s.alerts.transition(change('firing', 100, 'n1')), true);
      assert.equal(await s.alerts.transition(change('resolved', 99, 'n2')), false, 'another episode');
      assert.equal(await s.alerts.transition(change('resolved', 100, 'n3')), true);
      assert.equal(await s.alerts.transition(change('resolved', 100, 'n4')), false, 'already resolved');
      assert.deepEqual(await s.alerts.firing(), []);
      assert.deepEqual((await s.alerts.recentNotifications(10)).map((n) => n.id), ['n1', 'n3']);
    });

    test('deliveries are recorded; notifications whose delivery never ended are found again', async (t) => {
      const s = await factory.fresh(t);
      await s.alerts.transition(change('firing', 100, 'n1'));
      await s.alerts.transition(change('firing', 100, 'n2', 'r2'));
      await s.alerts.setDelivery('n1', 'delivered');
      assert.deepEqual((await s.alerts.pendingNotifications()).map((n) => n.id), ['n2']);
      assert.deepEqual((await s.alerts.recentNotifications(1)).map((n) => [n.id, n.delivery, JSON.parse(n.body).rule]), [['n2', 'pending', 'r2']]);
    });

    test('the firing state of rules removed or changed is forgotten, the rest kept', async (t) => {
      const s = await factory.fresh(t);
      await s.alerts.transition(change('firing', 1, 'a', 'kept', 'g', 'h'));
      await s.alerts.transition(change('firing', 1, 'b', 'changed', 'g', 'old'));
      await s.alerts.transition(change('firing', 1, 'c', 'removed', 'g', 'h'));
      assert.equal(await s.alerts.forgetOtherRules([{ rule: 'kept', hash: 'h' }, { rule: 'changed', hash: 'new' }]), 2);
      assert.deepEqual((await s.alerts.firing()).map((f) => f.rule), ['kept']);
    });

    test('one handle leads at a time; when it lets go another takes over', async (t) => {
      const s = await factory.fresh(t);
      const other = await factory.again(t, s);
      const a = s.alerts.leadership('node-a'), b = other.alerts.leadership('node-b');
      t.after(async () => { await a.release(); await b.release(); });
      assert.equal(await a.tryLead(1000, 5000), true);
      assert.equal(await b.tryLead(1001, 5000), false);
      assert.equal(await a.tryLead(2000, 5000), true, 'the leader keeps the lead');
      await a.release();
      assert.equal(await b.tryLead(2001, 5000), true);
      assert.equal(await a.tryLead(2002, 5000), false);
      if (factory.leaderTtlMatters) assert.equal(await a.tryLead(2001 + 5001, 5000), true, 'a lease not renewed expires');
    });
  });
}
