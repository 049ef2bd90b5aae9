import type { Identity } from '../pipeline/types.ts';
import type { CompiledQuota } from './compile-ai.ts';
import type { UsageStore } from './usage-store.ts';

// Token and spend quotas, exact per node. Each in-flight request reserves its worst case
// (prompt bound + output cap). A request whose worst case fits in what is left is "covered"
// and cannot overshoot; one that does not fit is admitted only while no other uncovered
// request of the same subject is in flight. So a quota is exceeded by at most one in-flight
// request per node, whatever the concurrency. Used amounts are seeded from the usage table
// the first time a subject is seen in a period, so a restart does not reset them.

export interface Meter {
  readonly quota: CompiledQuota;
  readonly unit: 'tokens' | 'spend';
  readonly limit: number;
  readonly subjectBy: 'key' | 'consumer' | 'tenant';
  readonly subject: string;
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly key: string;
}

interface Account { used: number; reserved: number; uncovered: number }

export interface Reservation {
  readonly entries: readonly { readonly meter: Meter; readonly amount: number; readonly covered: boolean }[];
}

export type Admission =
  | { readonly ok: true; readonly reservation: Reservation }
  | { readonly ok: false; readonly meter: Meter; readonly used: number; readonly reserved: number; readonly held: boolean };

export function periodRange(period: 'day' | 'month', now: number): { start: number; end: number; id: string } {
  const d = new Date(now);
  if (period === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { start, end: start + 86_400_000, id: d.toISOString().slice(0, 10) };
  }
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1), id: d.toISOString().slice(0, 7) };
}

function subjectOf(by: CompiledQuota['by'], id: Identity): { by: 'key' | 'consumer' | 'tenant'; value: string } {
  if (by === 'key') return { by, value: id.credentialId };
  if (by === 'tenant' && id.tenantId) return { by, value: id.tenantId };
  return { by: 'consumer', value: id.consumerId ?? id.credentialId };
}

const column = { key: 'credential_id', consumer: 'consumer_id', tenant: 'tenant_id' } as const;

export class QuotaLedger {
  readonly #accounts = new Map<string, Account>();
  readonly #store: UsageStore;
  constructor(store: UsageStore) { this.#store = store; }

  /** The meters that apply to a request by this identity for this model. */
  meters(quotas: readonly CompiledQuota[], identity: Identity, model: string, now: number): Meter[] {
    const out: Meter[] = [];
    for (const q of quotas) {
      if (q.models && !q.models.has(model)) continue;
      const s = subjectOf(q.by, identity);
      const p = periodRange(q.period, now);
      for (const unit of ['tokens', 'spend'] as const) {
        const limit = unit === 'tokens' ? q.tokens : q.spendNano;
        if (limit === null) continue;
        out.push({ quota: q, unit, limit, subjectBy: s.by, subject: s.value, periodStart: p.start, periodEnd: p.end, key: `${q.id}|${unit}|${p.id}|${s.by}|${s.value}` });
      }
    }
    return out;
  }

  #account(m: Meter): Account {
    let a = this.#accounts.get(m.key);
    if (!a) {
      const models = m.quota.models ? [...m.quota.models] : null;
      const used = this.#store.usedSince(column[m.subjectBy], m.subject, m.periodStart, m.periodEnd, models);
      a = { used: m.unit === 'tokens' ? used.tokens : used.nano, reserved: 0, uncovered: 0 };
      this.#accounts.set(m.key, a);
      if (this.#accounts.size > 100_000) this.#prune(m.periodStart);
    }
    return a;
  }

  #prune(now: number): void {
    for (const [k, a] of this.#accounts) if (a.reserved === 0 && !k.includes(new Date(now).toISOString().slice(0, 7))) this.#accounts.delete(k);
  }

  /** All meters admit the request or none is charged. `worst` gives each meter's worst-case amount. */
  admit(meters: readonly Meter[], worst: (m: Meter) => number): Admission {
    const plan: { meter: Meter; amount: number; covered: boolean; account: Account }[] = [];
    for (const m of meters) {
      const a = this.#account(m);
      const amount = worst(m);
      if (a.used + a.reserved + amount <= m.limit) { plan.push({ meter: m, amount, covered: true, account: a }); continue; }
      if (a.used + a.reserved < m.limit && a.uncovered === 0) { plan.push({ meter: m, amount, covered: false, account: a }); continue; }
      return { ok: false, meter: m, used: a.used, reserved: a.reserved, held: a.used < m.limit };
    }
    for (const p of plan) { p.account.reserved += p.amount; if (!p.covered) p.account.uncovered++; }
    return { ok: true, reservation: { entries: plan.map(({ meter, amount, covered }) => ({ meter, amount, covered })) } };
  }

  /** Replaces the reservation by what the request actually used. Call exactly once per admitted request. */
  settle(r: Reservation, tokens: number, nano: number): void {
    for (const e of r.entries) {
      const a = this.#account(e.meter);
      a.reserved -= e.amount;
      if (!e.covered) a.uncovered--;
      a.used += e.meter.unit === 'tokens' ? tokens : nano;
    }
  }

  /** Current figures of a meter (tests, `pinpoint usage`). */
  peek(m: Meter): { used: number; reserved: number } {
    const a = this.#account(m);
    return { used: a.used, reserved: a.reserved };
  }
}
