import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { RateRule } from '../../src/limits/counter-store.ts';
import { LocalCounterStore } from '../../src/limits/local-counter-store.ts';

function storeFor(t: TestContext): LocalCounterStore {
  const store = new LocalCounterStore();
  t.after(() => store.close());
  return store;
}

const T0 = 1_700_000_000_000;

describe('sliding-log rate limit', () => {
  const rule: RateRule = { limit: 3, windowMs: 1000, algorithm: 'sliding-log' };

  test('admits `limit` requests in a window and refuses the next', (t) => {
    const store = storeFor(t);
    const decisions = [0, 100, 200, 300].map((dt) => store.rate('k', rule, T0 + dt, true));
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, false]);
    assert.deepEqual(decisions.map((d) => d.remaining), [2, 1, 0, 0]);
    assert.deepEqual(decisions.map((d) => d.used), [1, 2, 3, 3]);
  });

  test('retryAfterMs is exactly when the oldest request leaves the window', (t) => {
    const store = storeFor(t);
    for (const dt of [0, 100, 200]) store.rate('k', rule, T0 + dt, true);
    const refused = store.rate('k', rule, T0 + 300, true);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 700);
    assert.equal(refused.resetMs, 900);
    assert.equal(store.rate('k', rule, T0 + 300 + refused.retryAfterMs - 1, true).allowed, false);
    assert.equal(store.rate('k', rule, T0 + 300 + refused.retryAfterMs, true).allowed, true);
  });

  test('refused requests are not counted against later windows', (t) => {
    const store = storeFor(t);
    for (const dt of [0, 1, 2]) store.rate('k', rule, T0 + dt, true);
    for (let dt = 3; dt < 1000; dt += 50) assert.equal(store.rate('k', rule, T0 + dt, true).allowed, false);
    const later = [1000, 1001, 1002].map((dt) => store.rate('k', rule, T0 + dt, true));
    assert.deepEqual(later.map((d) => d.allowed), [true, true, true]);
  });

  test('is a hard cap: no window of windowMs ever holds more than `limit` admitted requests', (t) => {
    const store = storeFor(t);
    const hard: RateRule = { limit: 5, windowMs: 1000, algorithm: 'sliding-log' };
    const admitted: number[] = [];
    // Bursty arrivals: a request every 7 ms, with a 40-request burst every 900 ms.
    const arrivals: number[] = [];
    for (let dt = 0; dt < 6000; dt += 7) arrivals.push(dt);
    for (let b = 0; b < 6000; b += 900) for (let i = 0; i < 40; i++) arrivals.push(b);
    arrivals.sort((a, b) => a - b);
    for (const dt of arrivals) if (store.rate('k', hard, T0 + dt, true).allowed) admitted.push(dt);
    for (const start of admitted) {
      const inWindow = admitted.filter((s) => s >= start && s < start + hard.windowMs).length;
      assert.ok(inWindow <= hard.limit, `${inWindow} admitted in [${start}, ${start + hard.windowMs})`);
    }
    // ...and it is not stricter than that: it admits whenever the trailing window has room.
    const reference: number[] = [];
    for (const dt of arrivals) {
      if (reference.filter((s) => s > dt - hard.windowMs).length < hard.limit) reference.push(dt);
    }
    assert.deepEqual(admitted, reference);
    assert.ok(admitted.length >= 30);
  });

  test('consume=false never counts, however often it is asked', (t) => {
    const store = storeFor(t);
    for (let i = 0; i < 50; i++) {
      const d = store.rate('k', rule, T0 + i, false);
      assert.equal(d.allowed, true);
      assert.equal(d.remaining, 2);
      assert.equal(d.used, 1);
    }
    assert.equal(store.size, 0);
    const real = [0, 1, 2, 3].map((i) => store.rate('k', rule, T0 + 100 + i, true).allowed);
    assert.deepEqual(real, [true, true, true, false]);
  });

  test('consume=false gives the same answer that consuming would', (t) => {
    const store = storeFor(t);
    store.rate('k', rule, T0, true);
    const simulated = store.rate('k', rule, T0 + 400, false);
    const actual = store.rate('k', rule, T0 + 400, true);
    assert.deepEqual(simulated, actual);
  });

  test('consume=false on a full window reports the refusal without changing it', (t) => {
    const store = storeFor(t);
    for (const dt of [0, 100, 200]) store.rate('k', rule, T0 + dt, true);
    const simulated = store.rate('k', rule, T0 + 500, false);
    assert.equal(simulated.allowed, false);
    assert.equal(simulated.retryAfterMs, 500);
    assert.equal(store.rate('k', rule, T0 + 1000, true).allowed, true);
  });

  test('keys are counted independently', (t) => {
    const store = storeFor(t);
    for (const dt of [0, 1, 2]) store.rate('a', rule, T0 + dt, true);
    assert.equal(store.rate('a', rule, T0 + 3, true).allowed, false);
    assert.equal(store.rate('b', rule, T0 + 3, true).allowed, true);
  });

  test('after a reload lowers the limit, retryAfterMs waits until the log is below the new limit', (t) => {
    const store = storeFor(t);
    for (const dt of [0, 100, 200, 300, 400]) store.rate('k', { ...rule, limit: 5 }, T0 + dt, true);
    const refused = store.rate('k', { ...rule, limit: 2 }, T0 + 500, true);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 800); // stamps at 0..300 must go; the one at 300 leaves at 1300
    assert.equal(store.rate('k', { ...rule, limit: 2 }, T0 + 1299, true).allowed, false);
    assert.equal(store.rate('k', { ...rule, limit: 2 }, T0 + 1300, true).allowed, true);
  });

  test('a key that held GCRA state before a reload switches to sliding-log cleanly', (t) => {
    const store = storeFor(t);
    store.rate('k', { ...rule, algorithm: 'gcra' }, T0, true);
    const d = store.rate('k', rule, T0 + 1, true);
    assert.equal(d.allowed, true);
    assert.equal(d.used, 1);
  });
});

describe('gcra rate limit', () => {
  test('admits a burst of `limit` at once, then refuses', (t) => {
    const store = storeFor(t);
    const rule: RateRule = { limit: 4, windowMs: 1000, algorithm: 'gcra' };
    const burst = Array.from({ length: 5 }, () => store.rate('k', rule, T0, true));
    assert.deepEqual(burst.map((d) => d.allowed), [true, true, true, true, false]);
    assert.deepEqual(burst.map((d) => d.remaining), [3, 2, 1, 0, 0]);
    assert.deepEqual(burst.map((d) => d.used), [1, 2, 3, 4, 4]);
  });

  test('admits the full burst even when window/limit is not a whole number of ms', (t) => {
    const store = storeFor(t);
    for (const limit of [3, 7, 9, 11, 13]) {
      for (const windowMs of [1000, 10_000, 60_000]) {
        const rule: RateRule = { limit, windowMs, algorithm: 'gcra' };
        const key = `k${limit}-${windowMs}`;
        const burst = Array.from({ length: limit + 1 }, () => store.rate(key, rule, T0, true));
        assert.equal(burst.filter((d) => d.allowed).length, limit, `${limit} per ${windowMs} ms`);
        assert.deepEqual(burst.slice(0, limit).map((d) => d.remaining), Array.from({ length: limit }, (_, i) => limit - 1 - i), `${limit} per ${windowMs} ms`);
      }
    }
  });

  test('after the burst, admits one request per window/limit', (t) => {
    const store = storeFor(t);
    const rule: RateRule = { limit: 4, windowMs: 1000, algorithm: 'gcra' };
    for (let i = 0; i < 4; i++) store.rate('k', rule, T0, true);
    const refused = store.rate('k', rule, T0, true);
    assert.equal(refused.retryAfterMs, 250);
    assert.equal(refused.resetMs, 1000);
    assert.equal(store.rate('k', rule, T0 + 249, true).allowed, false);
    assert.equal(store.rate('k', rule, T0 + 250, true).allowed, true);
    assert.equal(store.rate('k', rule, T0 + 250, true).allowed, false);
    assert.equal(store.rate('k', rule, T0 + 500, true).allowed, true);
  });

  test('a steady stream faster than the rate is held to burst plus one per interval', (t) => {
    const store = storeFor(t);
    const rule: RateRule = { limit: 3, windowMs: 1000, algorithm: 'gcra' };
    let admitted = 0;
    for (let dt = 0; dt < 10_000; dt += 10) if (store.rate('k', rule, T0 + dt, true).allowed) admitted++;
    // 3 at once, then one every 333.3 ms over 9990 ms: 3 + 29 = 32.
    assert.equal(admitted, 32);
  });

  test('recovers the whole burst after a full window of silence', (t) => {
    const store = storeFor(t);
    const rule: RateRule = { limit: 3, windowMs: 900, algorithm: 'gcra' };
    for (let i = 0; i < 3; i++) store.rate('k', rule, T0, true);
    const burst = Array.from({ length: 4 }, () => store.rate('k', rule, T0 + 900, true).allowed);
    assert.deepEqual(burst, [true, true, true, false]);
  });

  test('consume=false never counts', (t) => {
    const store = storeFor(t);
    const rule: RateRule = { limit: 2, windowMs: 1000, algorithm: 'gcra' };
    for (let i = 0; i < 20; i++) assert.equal(store.rate('k', rule, T0, false).remaining, 1);
    assert.equal(store.size, 0);
    assert.deepEqual([0, 1, 2].map(() => store.rate('k', rule, T0, true).allowed), [true, true, false]);
    const simulated = store.rate('k', rule, T0 + 100, false);
    assert.equal(simulated.allowed, false);
    assert.equal(simulated.retryAfterMs, 400);
    assert.equal(store.rate('k', rule, T0 + 500, true).allowed, true);
  });

  test('a key that held sliding-log state before a reload switches to GCRA cleanly', (t) => {
    const store = storeFor(t);
    store.rate('k', { limit: 2, windowMs: 1000, algorithm: 'sliding-log' }, T0, true);
    const d = store.rate('k', { limit: 2, windowMs: 1000, algorithm: 'gcra' }, T0, true);
    assert.equal(d.allowed, true);
    assert.equal(d.remaining, 1);
  });
});

describe('quota', () => {
  const periodEnd = T0 + 86_400_000;

  test('admits `limit` requests in the period and then refuses until periodEnd', (t) => {
    const store = storeFor(t);
    const decisions = [0, 1, 2, 3].map((i) => store.quota('q', 3, periodEnd, T0 + i * 1000, true));
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, false]);
    assert.deepEqual(decisions.map((d) => d.remaining), [2, 1, 0, 0]);
    assert.deepEqual(decisions.map((d) => d.used), [1, 2, 3, 3]);
    assert.equal(decisions[3]!.retryAfterMs, periodEnd - (T0 + 3000));
    assert.equal(decisions[3]!.resetMs, periodEnd - (T0 + 3000));
    assert.equal(store.quota('q', 3, periodEnd, periodEnd - 1, true).allowed, false);
  });

  test('resets at periodEnd', (t) => {
    const store = storeFor(t);
    for (let i = 0; i < 3; i++) store.quota('q', 3, periodEnd, T0, true);
    const next = store.quota('q', 3, periodEnd + 86_400_000, periodEnd, true);
    assert.equal(next.allowed, true);
    assert.equal(next.used, 1);
    assert.equal(next.resetMs, 86_400_000);
  });

  test('consume=false never counts', (t) => {
    const store = storeFor(t);
    for (let i = 0; i < 10; i++) {
      const d = store.quota('q', 2, periodEnd, T0, false);
      assert.equal(d.allowed, true);
      assert.equal(d.used, 1);
    }
    assert.equal(store.size, 0);
    store.quota('q', 2, periodEnd, T0, true);
    assert.equal(store.quota('q', 2, periodEnd, T0, false).remaining, 0);
    store.quota('q', 2, periodEnd, T0, true);
    assert.equal(store.quota('q', 2, periodEnd, T0, false).allowed, false);
    assert.equal(store.quota('q', 2, periodEnd, T0, true).used, 2);
  });
});

describe('sweep', () => {
  test('removes entries whose state has fully expired and keeps live ones', (t) => {
    const store = storeFor(t);
    store.rate('log', { limit: 5, windowMs: 1000, algorithm: 'sliding-log' }, T0, true);
    store.rate('gcra', { limit: 4, windowMs: 1000, algorithm: 'gcra' }, T0, true); // owes 250 ms
    store.quota('quota', 5, T0 + 5000, T0, true);
    assert.equal(store.size, 3);

    store.sweep(T0 + 249);
    assert.equal(store.size, 3);
    store.sweep(T0 + 250);
    assert.equal(store.size, 2, 'the GCRA entry is stale once its debt is repaid');
    store.sweep(T0 + 999);
    assert.equal(store.size, 2);
    store.sweep(T0 + 1000);
    assert.equal(store.size, 1, 'the log is stale once its newest stamp leaves the window');
    store.sweep(T0 + 4999);
    assert.equal(store.size, 1);
    store.sweep(T0 + 5000);
    assert.equal(store.size, 0, 'the quota is stale at periodEnd');
  });

  test('a swept key starts afresh', (t) => {
    const store = storeFor(t);
    const rule: RateRule = { limit: 1, windowMs: 1000, algorithm: 'sliding-log' };
    store.rate('k', rule, T0, true);
    store.sweep(T0 + 1000);
    const d = store.rate('k', rule, T0 + 1000, true);
    assert.equal(d.allowed, true);
    assert.equal(d.used, 1);
  });

  test('a sliding log lengthened by a reload is judged by its new window', (t) => {
    const store = storeFor(t);
    store.rate('k', { limit: 2, windowMs: 1000, algorithm: 'sliding-log' }, T0, true);
    const longer: RateRule = { limit: 2, windowMs: 10_000, algorithm: 'sliding-log' };
    store.rate('k', longer, T0 + 10, true);
    store.sweep(T0 + 5000);
    assert.equal(store.size, 1);
    assert.equal(store.rate('k', longer, T0 + 5000, true).allowed, false);
  });
});
