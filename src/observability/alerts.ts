import { consumerOf, credentialOf, tenantOf } from '../analytics/caller.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { Logger } from '../server/logger.ts';
import type { AlertRuleConfig, AlertsConfig } from './alert-schema.ts';

// Alert rules over a sliding window of per-slot counts, kept in memory per rule and group.
// A notification is sent on a state change only (firing -> resolved -> firing), so a rule
// that stays above its threshold notifies once, however many evaluations see it.

const SLOTS = 20;
const MAX_GROUPS_PER_RULE = 10_000;

export interface AlertNotification {
  readonly status: 'firing' | 'resolved';
  readonly rule: string;
  readonly description: string | null;
  readonly group: string | null;
  readonly groupBy: AlertRuleConfig['groupBy'];
  /** The matching requests and all requests of the scope in the window at evaluation time. */
  readonly matching: number;
  readonly total: number;
  readonly value: number;
  readonly threshold: { readonly rate?: number; readonly count?: number };
  readonly windowSeconds: number;
  readonly since: number;
  readonly at: number;
  /** A few request ids of matching requests, for `pinpoint explain`. */
  readonly sampleRequestIds: readonly string[];
  readonly configVersion: number | null;
  readonly stateVersion: number | null;
}

class Window {
  readonly matching = new Float64Array(SLOTS);
  readonly total = new Float64Array(SLOTS);
  readonly slotOf = new Float64Array(SLOTS).fill(-1);
  readonly samples: string[] = [];
  firingSince = 0;
  lastVersions: [number, number | null] = [0, null];

  add(slot: number, matched: boolean, requestId: string): void {
    const i = slot % SLOTS;
    if (this.slotOf[i] !== slot) { this.slotOf[i] = slot; this.matching[i] = 0; this.total[i] = 0; }
    this.total[i]! += 1;
    if (matched) {
      this.matching[i]! += 1;
      if (this.samples.length >= 5) this.samples.shift();
      this.samples.push(requestId);
    }
  }

  sums(currentSlot: number): { matching: number; total: number } {
    let matching = 0, total = 0;
    for (let i = 0; i < SLOTS; i++) {
      const s = this.slotOf[i]!;
      if (s > currentSlot - SLOTS && s <= currentSlot) { matching += this.matching[i]!; total += this.total[i]!; }
    }
    return { matching, total };
  }
}

interface CompiledRule {
  readonly config: AlertRuleConfig;
  readonly slotMs: number;
  readonly routes: ReadonlySet<string> | null;
  readonly consumers: ReadonlySet<string> | null;
  readonly tenants: ReadonlySet<string> | null;
  readonly status: ReadonlySet<number> | null;
  readonly codes: ReadonlySet<string> | null;
  readonly groups: Map<string, Window>;
}

const setOf = <T>(a: readonly T[] | undefined): ReadonlySet<T> | null => (a && a.length ? new Set(a) : null);

function compileRule(r: AlertRuleConfig, previous: CompiledRule | undefined): CompiledRule {
  const slotMs = (r.windowSeconds * 1000) / SLOTS;
  // An unchanged rule keeps its windows and firing state across a reload.
  const keep = previous && JSON.stringify(previous.config) === JSON.stringify(r);
  return {
    config: r, slotMs,
    routes: setOf(r.scope.routes), consumers: setOf(r.scope.consumers), tenants: setOf(r.scope.tenants),
    status: setOf(r.match.status), codes: setOf(r.match.codes),
    groups: keep ? previous.groups : new Map(),
  };
}

function groupKey(r: CompiledRule, t: TraceRecord): string | null {
  switch (r.config.groupBy) {
    case 'none': return '';
    case 'route': return t.routeId;
    case 'consumer': return consumerOf(t);
    case 'tenant': return tenantOf(t);
    case 'clientIp': return t.clientIp;
    case 'credential': return credentialOf(t);
  }
}

export interface AlertEngineOptions {
  readonly config: () => AlertsConfig | undefined;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class AlertEngine {
  private rules: CompiledRule[] = [];
  private compiledFrom: AlertsConfig | undefined;
  private timer: NodeJS.Timeout | null = null;
  private timerEvery = 0;
  private readonly options: AlertEngineOptions;
  private readonly now: () => number;
  /** The latest notifications, newest last (the admin API shows them). */
  readonly history: AlertNotification[] = [];
  private readonly deliveries = new Set<Promise<void>>();

  constructor(options: AlertEngineOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.refresh();
  }

  /** Recompiles the rules when the config object changed (a reload), and keeps the timer at its interval. */
  private refresh(): void {
    const cfg = this.options.config();
    if (cfg === this.compiledFrom) return;
    this.compiledFrom = cfg;
    const before = new Map(this.rules.map((r) => [r.config.id, r]));
    this.rules = (cfg?.rules ?? []).map((r) => compileRule(r, before.get(r.id)));
    // Without rules the timer still runs (slowly), so a reload that adds rules is picked up.
    const every = cfg?.evaluateIntervalMs ?? 10_000;
    if (every !== this.timerEvery) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.timerEvery = every;
      { this.timer = setInterval(() => this.evaluate(), every); this.timer.unref(); }
    }
  }

  record(t: TraceRecord): void {
    for (const r of this.rules) {
      if (r.routes && (t.routeId === null || !r.routes.has(t.routeId))) continue;
      if (r.consumers && !r.consumers.has(consumerOf(t) ?? '')) continue;
      if (r.tenants && !r.tenants.has(tenantOf(t) ?? '')) continue;
      const key = groupKey(r, t);
      if (key === null) continue;
      const m = r.config.match;
      const matched = (r.status === null || r.status.has(t.status)) && (r.codes === null || (t.code !== null && r.codes.has(t.code))) && (m.origin === undefined || m.origin === t.answeredBy);
      let w = r.groups.get(key);
      if (!w) {
        if (r.groups.size >= MAX_GROUPS_PER_RULE) continue;
        w = new Window();
        r.groups.set(key, w);
      }
      w.add(Math.floor(t.ts / r.slotMs), matched, t.requestId);
      w.lastVersions = [t.configVersion, t.stateVersion ?? null];
    }
  }

  /** One evaluation of every rule; returns the notifications it sent. */
  evaluate(): AlertNotification[] {
    this.refresh();
    const now = this.now();
    const sent: AlertNotification[] = [];
    for (const r of this.rules) {
      const c = r.config;
      const slot = Math.floor(now / r.slotMs);
      for (const [key, w] of r.groups) {
        const { matching, total } = w.sums(slot);
        const value = c.rate !== undefined ? (total > 0 ? matching / total : 0) : matching;
        const above = c.rate !== undefined ? total >= c.minRequests && value > c.rate : value > c.count!;
        if (above && w.firingSince === 0) {
          w.firingSince = now;
          sent.push(this.notify('firing', r, key, w, matching, total, value, now));
        } else if (!above && w.firingSince !== 0) {
          sent.push(this.notify('resolved', r, key, w, matching, total, value, now));
          w.firingSince = 0;
        }
        if (total === 0 && w.firingSince === 0) r.groups.delete(key);
      }
    }
    return sent;
  }

  firing(): { rule: string; group: string | null; since: number }[] {
    const out = [];
    for (const r of this.rules) for (const [key, w] of r.groups) if (w.firingSince) out.push({ rule: r.config.id, group: r.config.groupBy === 'none' ? null : key, since: w.firingSince });
    return out;
  }

  private notify(status: AlertNotification['status'], r: CompiledRule, key: string, w: Window, matching: number, total: number, value: number, now: number): AlertNotification {
    const c = r.config;
    const n: AlertNotification = {
      status, rule: c.id, description: c.description ?? null, group: c.groupBy === 'none' ? null : key, groupBy: c.groupBy,
      matching, total, value: Math.round(value * 10000) / 10000,
      threshold: c.rate !== undefined ? { rate: c.rate } : { count: c.count! }, windowSeconds: c.windowSeconds,
      since: w.firingSince, at: now, sampleRequestIds: [...w.samples], configVersion: w.lastVersions[0], stateVersion: w.lastVersions[1],
    };
    this.history.push(n);
    if (this.history.length > 200) this.history.shift();
    const what = c.rate !== undefined ? `${(n.value * 100).toFixed(1)}% of ${total} requests (threshold ${(c.rate * 100).toFixed(1)}%)` : `${matching} requests (threshold ${c.count})`;
    const line = `alert ${c.id}${n.group ? ` [${c.groupBy}=${n.group}]` : ''} ${status}: ${what} over ${c.windowSeconds}s`;
    if (status === 'firing') this.options.logger.warn({ event: 'alert_firing', alert: n }, line);
    else this.options.logger.info({ event: 'alert_resolved', alert: n }, line);
    this.deliver(n);
    return n;
  }

  private deliver(n: AlertNotification): void {
    const hook = this.compiledFrom?.webhook;
    if (!hook) return;
    const p = fetch(hook.url, {
      method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'pinpoint-alerts', ...hook.headers },
      body: JSON.stringify(n), signal: AbortSignal.timeout(hook.timeoutMs),
    }).then(async (res) => {
      await res.arrayBuffer();
      if (!res.ok) this.options.logger.error({ event: 'alert_webhook_failed', rule: n.rule, status: res.status }, `alert webhook answered ${res.status} for ${n.rule} ${n.status}`);
    }, (err: unknown) => {
      this.options.logger.error({ event: 'alert_webhook_failed', rule: n.rule }, `alert webhook failed for ${n.rule} ${n.status}: ${(err as Error).message}`);
    }).finally(() => this.deliveries.delete(p));
    this.deliveries.add(p);
  }

  /** Waits for notifications in flight (shutdown, tests). */
  async settle(): Promise<void> { await Promise.all([...this.deliveries]); }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
