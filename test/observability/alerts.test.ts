import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { keys, tokens } from '../admin/support.ts';
import { observabilityOf } from '../../src/observability/start.ts';
import { startHook, startObsEnv, type Hook, type ObsEnv } from './support.ts';

// A controlled burst of 403s against a real gateway, alert rules with short windows, and a
// real webhook server: the alert fires once, then recovers once the window has passed.

let env: ObsEnv;
let hook: Hook;
before(async () => {
  hook = await startHook();
  env = await startObsEnv((b) => ({
    ...b,
    alerts: {
      webhook: { url: hook.url, timeoutMs: 2000 },
      evaluateIntervalMs: 50,
      rules: [
        { id: 'items-403-rate', description: '403 rate on /shop/items above 50%', scope: { routes: ['items'] }, match: { status: [403] }, windowSeconds: 2.5, rate: 0.5, minRequests: 5, groupBy: 'route' },
        { id: 'unsubscribed-per-consumer', match: { codes: ['subscription_required'] }, groupBy: 'consumer', windowSeconds: 2.5, count: 3 },
      ],
    },
  }));
});
after(async () => { await env.close(); await hook.close(); });

const waitFor = async (what: string, ok: () => boolean, ms = 8000) => {
  const end = Date.now() + ms;
  while (!ok()) { if (Date.now() > end) assert.fail(`timed out waiting for ${what}; webhook got ${JSON.stringify(hook.received)}`); await sleep(25); }
};

describe('alerting', () => {
  test('a burst of 403s fires the rate alert exactly once on the webhook, then it recovers', async () => {
    // Some good traffic first: below the threshold, nothing fires.
    for (let i = 0; i < 4; i++) assert.equal((await env.get('/shop/items', keys.buyer)).status, 200);
    await sleep(200);
    assert.equal(hook.received.length, 0);
    for (let i = 0; i < 12; i++) assert.equal((await env.get('/shop/items', keys.stranger)).status, 403);
    await waitFor('the rate alert', () => hook.received.some((n) => n.rule === 'items-403-rate'));
    // Several evaluations while the burst is still inside the window: de-duplicated.
    await sleep(300);
    await waitFor('recovery', () => hook.received.some((n) => n.rule === 'items-403-rate' && n.status === 'resolved'));
    await observabilityOf(env.gw.gateway)!.alerts.settle();
    const mine = hook.received.filter((n) => n.rule === 'items-403-rate');
    assert.deepEqual(mine.map((n) => n.status), ['firing', 'resolved']);
    const firing = mine[0]!;
    assert.equal(firing.group, 'items');
    // Fired by the first evaluation that saw the rate above 50%, possibly mid-burst.
    const matching = firing.matching as number, total = firing.total as number;
    assert.ok(matching <= 12 && total >= 5 && matching / total > 0.5, JSON.stringify(firing));
    assert.equal(total - matching, 4);
    assert.deepEqual(firing.threshold, { rate: 0.5 });
    assert.equal((firing.sampleRequestIds as string[]).length, Math.min(5, matching));
    assert.equal(firing.configVersion, env.gw.gateway.current().version);
  });

  test('a count rule grouped by consumer fires for that consumer only, once', async () => {
    await waitFor('the count rule to recover', () => hook.received.some((n) => n.rule === 'unsubscribed-per-consumer' && n.status === 'resolved'));
    await observabilityOf(env.gw.gateway)!.alerts.settle();
    const mine = hook.received.filter((n) => n.rule === 'unsubscribed-per-consumer');
    assert.deepEqual(mine.map((n) => [n.status, n.group]), [['firing', 'acme-stranger'], ['resolved', 'acme-stranger']]);
  });

  test('the admin API lists alert rules, what fires now and the recent notifications', async () => {
    const a = await env.adm('/v1/alerts', tokens.operator);
    assert.equal(a.status, 200, a.text);
    const body = a.json as { rules: { id: string }[]; firing: unknown[]; recent: { rule: string; status: string }[] };
    assert.deepEqual(body.rules.map((r) => r.id), ['items-403-rate', 'unsubscribed-per-consumer']);
    assert.deepEqual(body.firing, []);
    assert.ok(body.recent.some((n) => n.rule === 'items-403-rate' && n.status === 'firing'));
  });
});
