import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { CounterStore, LimitDecision, RateRule } from '../../src/limits/counter-store.ts';

// One behaviour for every CounterStore: the in-process one and the Redis one must answer
// every question below identically (same numbers, to the millisecond), so that moving a
// gateway from one node to several changes where counters live, never what they decide.

export type StoreFactory = (t: TestContext) => Promise<CounterStore>;

const T0 = 1_700_000_000_000;

export function counterStoreContract(name: string, make: StoreFactory): void {
  describe(`${name}: sliding-log rate limit`, () => {
    const rule: RateRule = { limit: 3, windowMs: 1000, algorithm: 'sliding-log' };
    const rate = (s: CounterStore, key: string, r: RateRule, now: number, consume = true) => Promise.resolve(s.rate(key, r, now, consume));

    test('admits `limit` requests in a window and refuses the next', async (t) => {
      const s = await make(t);
      const d: LimitDecision[] = [];
      for (const dt of [0, 100, 200, 300]) d.push(await rate(s, 'k', rule, T0 + dt));
      assert.deepEqual(d.map((x) => x.allowed), [true, true, true, false]);
      assert.deepEqual(d.map((x) => x.remaining), [2, 1, 0, 0]);
      assert.deepEqual(d.map((x) => x.used), [1, 2, 3, 3]);
      assert.deepEqual(d.map((x) => x.unavailable), [undefined, undefined, undefined, undefined], 'the store answered itself');
    });

    test('retryAfterMs is exactly when the oldest request leaves the window', async (t) => {
      const s = await make(t);
      for (const dt of [0, 100, 200]) await rate(s, 'k', rule, T0 + dt);
      const refused = await rate(s, 'k', rule, T0 + 300);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterMs, 700);
      assert.equal(refused.resetMs, 900);
      assert.equal((await rate(s, 'k', rule, T0 + 999)).allowed, false);
      assert.equal((await rate(s, 'k', rule, T0 + 1000)).allowed, true);
    });

    test('refused requests are not counted against later windows', async (t) => {
      const s = await make(t);
      for (const dt of [0, 1, 2]) await rate(s, 'k', rule, T0 + dt);
      for (let dt = 3; dt < 1000; dt += 111) assert.equal((await rate(s, 'k', rule, T0 + dt)).allowed, false);
      const later: boolean[] = [];
      for (const dt of [1000, 1001, 1002]) later.push((await rate(s, 'k', rule, T0 + dt)).allowed);
      assert.deepEqual(later, [true, true, true]);
    });

    test('consume=false never counts and gives the answer consuming would', async (t) => {
      const s = await make(t);
      for (let i = 0; i < 10; i++) {
        const d = await rate(s, 'k', rule, T0 + i, false);
        assert.deepEqual([d.allowed, d.remaining, d.used], [true, 2, 1]);
      }
      await rate(s, 'k', rule, T0 + 10);
      const simulated = await rate(s, 'k', rule, T0 + 400, false);
      const actual = await rate(s, 'k', rule, T0 + 400);
      assert.deepEqual(simulated, actual);
    });

    test('consume=false on a full window reports the refusal without changing it', async (t) => {
      const s = await make(t);
      for (const dt of [0, 100, 200]) await rate(s, 'k', rule, T0 + dt);
      const simulated = await rate(s, 'k', rule, T0 + 500, false);
      assert.equal(simulated.allowed, false);
      assert.equal(simulated.retryAfterMs, 500);
      assert.equal((await rate(s, 'k', rule, T0 + 1000)).allowed, true);
    });

    test('keys are counted independently', async (t) => {
      const s = await make(t);
      for (const dt of [0, 1, 2]) await rate(s, 'a', rule, T0 + dt);
      assert.equal((await rate(s, 'a', rule, T0 + 3)).allowed, false);
      assert.equal((await rate(s, 'b', rule, T0 + 3)).allowed, true);
    });

    test('after a reload lowers the limit, retryAfterMs waits until the log is below the new limit', async (t) => {
      const s = await make(t);
      for (const dt of [0, 100, 200, 300, 400]) await rate(s, 'k', { ...rule, limit: 5 }, T0 + dt);
      const refused = await rate(s, 'k', { ...rule, limit: 2 }, T0 + 500);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterMs, 800);
      assert.equal((await rate(s, 'k', { ...rule, limit: 2 }, T0 + 1299)).allowed, false);
      assert.equal((await rate(s, 'k', { ...rule, limit: 2 }, T0 + 1300)).allowed, true);
    });

    test('a key that held GCRA state before a reload switches to sliding-log cleanly', async (t) => {
      const s = await make(t);
      await rate(s, 'k', { ...rule, algorithm: 'gcra' }, T0);
      const d = await rate(s, 'k', rule, T0 + 1);
      assert.deepEqual([d.allowed, d.used], [true, 1]);
    });

    test('is a hard cap under bursty arrivals, and not stricter than one', async (t) => {
      const s = await make(t);
      const hard: RateRule = { limit: 5, windowMs: 1000, algorithm: 'sliding-log' };
      const arrivals: number[] = [];
      for (let dt = 0; dt < 3000; dt += 23) arrivals.push(dt);
      for (let b = 0; b < 3000; b += 900) for (let i = 0; i < 10; i++) arrivals.push(b);
      arrivals.sort((a, b) => a - b);
      const admitted: number[] = [];
      for (const dt of arrivals) if ((await rate(s, 'k', hard, T0 + dt)).allowed) admitted.push(dt);
      const reference: number[] = [];
      for (const dt of arrivals) if (reference.filter((x) => x > dt - hard.windowMs).length < hard.limit) reference.push(dt);
      assert.deepEqual(admitted, reference);
    });
  });

  describe(`${name}: gcra rate limit`, () => {
    const rate = (s: CounterStore, key: string, r: RateRule, now: number, consume = true) => Promise.resolve(s.rate(key, r, now, consume));

    test('admits a burst of `limit` at once, then refuses', async (t) => {
      const s = await make(t);
      const rule: RateRule = { limit: 4, windowMs: 1000, algorithm: 'gcra' };
      const d: LimitDecision[] = [];
      for (let i = 0; i < 5; i++) d.push(await rate(s, 'k', rule, T0));
      assert.deepEqual(d.map((x) => x.allowed), [true, true, true, true, false]);
      assert.deepEqual(d.map((x) => x.remaining), [3, 2, 1, 0, 0]);
      assert.deepEqual(d.map((x) => x.used), [1, 2, 3, 4, 4]);
    });

    test('admits the full burst even when window/limit is not a whole number of ms', async (t) => {
      const s = await make(t);
      for (const limit of [3, 7, 13]) {
        for (const windowMs of [1000, 60_000]) {
          const rule: RateRule = { limit, windowMs, algorithm: 'gcra' };
          let allowed = 0;
          for (let i = 0; i <= limit; i++) if ((await rate(s, `k${limit}-${windowMs}`, rule, T0)).allowed) allowed++;
          assert.equal(allowed, limit, `${limit} per ${windowMs} ms`);
        }
      }
    });

    test('after the burst, admits one request per window/limit, with exact fractional timings', async (t) => {
      const s = await make(t);
      const rule: RateRule = { limit: 3, windowMs: 1000, algorithm: 'gcra' };
      for (let i = 0; i < 3; i++) await rate(s, 'k', rule, T0);
      const refused = await rate(s, 'k', rule, T0);
      assert.equal(refused.retryAfterMs, 1000 / 3);
      assert.equal(refused.resetMs, 1000);
      assert.equal((await rate(s, 'k', rule, T0 + 333)).allowed, false);
      const next = await rate(s, 'k', rule, T0 + 334);
      assert.equal(next.allowed, true);
      assert.equal(next.resetMs, 2998 / 3, 'the debt left after 334 ms, plus this request, repaid at 3 per second')
    });

    test('a steady stream faster than the rate is held to burst plus one per interval', async (t) => {
      const s = await make(t);
      const rule: RateRule = { limit: 3, windowMs: 1000, algorithm: 'gcra' };
      let admitted = 0;
      for (let dt = 0; dt < 3000; dt += 20) if ((await rate(s, 'k', rule, T0 + dt)).allowed) admitted++;
      // 3 at once, then one every 333.3 ms over 2980 ms: 3 + 8 = 11.
      assert.equal(admitted, 11);
    });

    test('consume=false never counts', async (t) => {
      const s = await make(t);
      const rule: RateRule = { limit: 2, windowMs: 1000, algorithm: 'gcra' };
      for (let i = 0; i < 5; i++) assert.equal((await rate(s, 'k', rule, T0, false)).remaining, 1);
      const real: boolean[] = [];
      for (let i = 0; i < 3; i++) real.push((await rate(s, 'k', rule, T0)).allowed);
      assert.deepEqual(real, [true, true, false]);
      const simulated = await rate(s, 'k', rule, T0 + 100, false);
      assert.deepEqual([simulated.allowed, simulated.retryAfterMs], [false, 400]);
      assert.equal((await rate(s, 'k', rule, T0 + 500)).allowed, true);
    });

    test('a reload that changes the limit keeps the time the debt represents', async (t) => {
      const s = await make(t);
      for (let i = 0; i < 4; i++) await rate(s, 'k', { limit: 4, windowMs: 1000, algorithm: 'gcra' }, T0);
      const d = await rate(s, 'k', { limit: 3, windowMs: 1000, algorithm: 'gcra' }, T0 + 100);
      assert.deepEqual(d, await rate(s, 'k', { limit: 3, windowMs: 1000, algorithm: 'gcra' }, T0 + 100, false));
      assert.equal(d.allowed, false);
      // 4000 ticks owed at limit 4 are 3000 at limit 3; 100 ms repay 300; one more would need 700 more.
      assert.equal(d.retryAfterMs, 700 / 3);
      assert.equal(d.resetMs, 900);
    });

    test('a key that held sliding-log state before a reload switches to GCRA cleanly', async (t) => {
      const s = await make(t);
      await rate(s, 'k', { limit: 2, windowMs: 1000, algorithm: 'sliding-log' }, T0);
      const d = await rate(s, 'k', { limit: 2, windowMs: 1000, algorithm: 'gcra' }, T0);
      assert.deepEqual([d.allowed, d.remaining], [true, 1]);
    });
  });

  describe(`${name}: quota`, () => {
    const periodEnd = T0 + 86_400_000;
    const quota = (s: CounterStore, key: string, limit: number, end: number, now: number, consume = true) => Promise.resolve(s.quota(key, limit, end, now, consume));

    test('admits `limit` requests in the period and then refuses until periodEnd', async (t) => {
      const s = await make(t);
      const d: LimitDecision[] = [];
      for (let i = 0; i < 4; i++) d.push(await quota(s, 'q', 3, periodEnd, T0 + i * 1000));
      assert.deepEqual(d.map((x) => x.allowed), [true, true, true, false]);
      assert.deepEqual(d.map((x) => x.remaining), [2, 1, 0, 0]);
      assert.deepEqual(d.map((x) => x.used), [1, 2, 3, 3]);
      assert.equal(d[3]!.retryAfterMs, periodEnd - (T0 + 3000));
      assert.equal(d[3]!.resetMs, periodEnd - (T0 + 3000));
      assert.equal((await quota(s, 'q', 3, periodEnd, periodEnd - 1)).allowed, false);
    });

    test('resets at periodEnd', async (t) => {
      const s = await make(t);
      for (let i = 0; i < 3; i++) await quota(s, 'q', 3, periodEnd, T0);
      const next = await quota(s, 'q', 3, periodEnd + 86_400_000, periodEnd);
      assert.deepEqual([next.allowed, next.used, next.resetMs], [true, 1, 86_400_000]);
    });

    test('consume=false never counts', async (t) => {
      const s = await make(t);
      for (let i = 0; i < 5; i++) {
        const d = await quota(s, 'q', 2, periodEnd, T0, false);
        assert.deepEqual([d.allowed, d.used], [true, 1]);
      }
      await quota(s, 'q', 2, periodEnd, T0);
      assert.equal((await quota(s, 'q', 2, periodEnd, T0, false)).remaining, 0);
      await quota(s, 'q', 2, periodEnd, T0);
      assert.equal((await quota(s, 'q', 2, periodEnd, T0, false)).allowed, false);
      assert.equal((await quota(s, 'q', 2, periodEnd, T0)).used, 2);
    });
  });
}
