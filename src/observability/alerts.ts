import { createHash } from 'node:crypto';
import { newRequestId } from '../log/request-id.ts';
import type { Logger } from '../server/logger.ts';
import type { Delivery, FiringAlert, Leadership, StoredNotification } from '../store/alert-state.ts';
import type { AlertQuery } from '../store/call-log-reader.ts';
import type { Store } from '../store/store.ts';
import type { AlertRuleConfig, AlertsConfig } from './alert-schema.ts';
import { deliverWebhook, type DeliveryResult } from './webhook.ts';

// Alert rules evaluated over the call log of the node's store: with PostgreSQL that is every
// node's traffic, with SQLite every worker's. One process evaluates at a time (the holder of
// the store's leadership: an advisory lock, or a lease in SQLite); a notification is sent only
// on a change of state, and the state lives in the store, so a rule that stays above its
// threshold notifies once whichever node evaluates, across restarts and takeovers.

const MAX_GROUPS_PER_RULE = 10_000;
const SAMPLES = 5;

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
  /** A few request ids of matching requests, newest first, for `pinpoint explain`. */
  readonly sampleRequestIds: readonly string[];
  readonly configVersion: number | null;
  readonly stateVersion: number | null;
}

/** What the metrics count (src/observability/start.ts). */
export interface AlertEvents {
  notified?(status: AlertNotification['status']): void;
  delivered?(result: DeliveryResult): void;
  retried?(): void;
}

export interface AlertEngineOptions {
  readonly config: () => AlertsConfig | undefined;
  readonly logger: Logger;
  /** The node's store: its call log is counted, its alert state shared. */
  readonly store: Pick<Store, 'log' | 'alerts'>;
  /** Who this process is, for the lease (SQLite) and the log. */
  readonly holder: string;
  /** Writes this process's pending call-log records before counting. */
  readonly flush?: () => Promise<void>;
  readonly now?: () => number;
  readonly events?: AlertEvents;
}

export const ruleHash = (r: AlertRuleConfig): string => createHash('sha256').update(JSON.stringify(r)).digest('hex').slice(0, 16);

function queryOf(r: AlertRuleConfig, now: number): AlertQuery {
  return {
    from: now - r.windowSeconds * 1000, to: now + 1,
    routes: r.scope.routes, consumers: r.scope.consumers, tenants: r.scope.tenants,
    status: r.match.status, codes: r.match.codes, origin: r.match.origin,
    groupBy: r.groupBy, limit: MAX_GROUPS_PER_RULE,
  };
}

export class AlertEngine {
  private readonly options: AlertEngineOptions;
  private readonly now: () => number;
  private readonly leadership: Leadership;
  private compiledFrom: AlertsConfig | undefined | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerEvery = 0;
  private running: Promise<AlertNotification[]> | null = null;
  private leading = false;
  private closed = false;
  private readonly deliveries = new Set<Promise<void>>();

  constructor(options: AlertEngineOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.leadership = options.store.alerts.leadership(options.holder);
    this.refresh();
  }

  /** True while this process is the one that evaluates and notifies. */
  get isLeader(): boolean { return this.leading; }

  /** Keeps the timer at the config's interval (a reload may change it); true when the config object changed. */
  private refresh(): boolean {
    const cfg = this.options.config();
    if (cfg === this.compiledFrom) return false;
    this.compiledFrom = cfg;
    // Without rules the timer still runs (slowly), so a reload that adds rules is picked up.
    const every = cfg?.evaluateIntervalMs ?? 10_000;
    if (every !== this.timerEvery && !this.closed) {
      if (this.timer) clearInterval(this.timer);
      this.timerEvery = every;
      this.timer = setInterval(() => { void this.evaluate().catch((err: unknown) => this.options.logger.error({ event: 'alert_evaluation_failed' }, `alert evaluation failed: ${(err as Error).message}`)); }, every);
      this.timer.unref();
    }
    return true;
  }

  /** One evaluation of every rule, if this process leads; returns the notifications it sent. */
  evaluate(): Promise<AlertNotification[]> {
    // A tick and an admin call at once share one evaluation.
    this.running ??= this.evaluateOnce().finally(() => { this.running = null; });
    return this.running;
  }

  private async evaluateOnce(): Promise<AlertNotification[]> {
    const changed = this.refresh();
    const now = this.now();
    const cfg = this.compiledFrom ?? undefined;
    const rules = cfg?.rules ?? [];
    // A lease outlives a few missed evaluations (a GC pause, a slow query) but not a dead holder.
    const wasLeading = this.leading;
    this.leading = !this.closed && await this.leadership.tryLead(now, Math.max(3 * this.timerEvery, 3000));
    if (this.leading !== wasLeading) {
      this.options.logger.info({ event: this.leading ? 'alert_leader_acquired' : 'alert_leader_lost', holder: this.options.holder },
        this.leading ? `alerts: this process (${this.options.holder}) now evaluates the rules` : 'alerts: another process evaluates the rules now');
    }
    if (!this.leading) return [];
    const state = this.options.store.alerts;
    if (changed || !wasLeading) await state.forgetOtherRules(rules.map((r) => ({ rule: r.id, hash: ruleHash(r) })));
    // Notifications a previous leader committed but did not finish delivering (it died): at least once.
    if (!wasLeading) for (const n of await state.pendingNotifications()) this.deliver(n);
    await this.options.flush?.();
    const firing = await state.firing();
    const sent: AlertNotification[] = [];
    for (const r of rules) {
      const hash = ruleHash(r);
      const q = queryOf(r, now);
      const mine = new Map(firing.filter((f) => f.rule === r.id && f.ruleHash === hash).map((f) => [f.group, f]));
      for (const { group, matching, total } of await this.options.store.log.alertCounts(q)) {
        const value = r.rate !== undefined ? (total > 0 ? matching / total : 0) : matching;
        const above = r.rate !== undefined ? total >= r.minRequests && value > r.rate : value > r.count!;
        const was = mine.get(group);
        mine.delete(group);
        if (above && !was) {
          const n = await this.transition('firing', r, hash, q, group, now, matching, total, value, now);
          if (n) sent.push(n);
        } else if (!above && was) {
          const n = await this.transition('resolved', r, hash, q, group, was.since, matching, total, value, now);
          if (n) sent.push(n);
        }
      }
      // Groups with no call left in the window are back under their threshold.
      for (const was of mine.values()) {
        const n = await this.transition('resolved', r, hash, q, was.group, was.since, 0, 0, 0, now);
        if (n) sent.push(n);
      }
    }
    return sent;
  }

  private async transition(status: AlertNotification['status'], r: AlertRuleConfig, hash: string, q: AlertQuery, group: string, since: number, matching: number, total: number, value: number, now: number): Promise<AlertNotification | null> {
    const samples = await this.options.store.log.alertSamples(q, group, SAMPLES);
    const n: AlertNotification = {
      status, rule: r.id, description: r.description ?? null, group: r.groupBy === 'none' ? null : group, groupBy: r.groupBy,
      matching, total, value: Math.round(value * 10000) / 10000,
      threshold: r.rate !== undefined ? { rate: r.rate } : { count: r.count! }, windowSeconds: r.windowSeconds,
      since, at: now, sampleRequestIds: samples.map((s) => s.requestId), configVersion: samples[0]?.configVersion ?? null, stateVersion: samples[0]?.stateVersion ?? null,
    };
    const stored: StoredNotification = { id: newRequestId(), at: now, body: JSON.stringify(n), delivery: this.compiledFrom?.webhook ? 'pending' : 'none' };
    const alert: FiringAlert = { rule: r.id, group, ruleHash: hash, since };
    // The state change and its notification commit together, or not at all (another evaluator made it).
    if (!(await this.options.store.alerts.transition({ kind: status, alert, notification: stored }))) return null;
    const what = r.rate !== undefined ? `${(n.value * 100).toFixed(1)}% of ${total} requests (threshold ${(r.rate * 100).toFixed(1)}%)` : `${matching} requests (threshold ${r.count})`;
    const line = `alert ${r.id}${n.group ? ` [${r.groupBy}=${n.group}]` : ''} ${status}: ${what} over ${r.windowSeconds}s`;
    if (status === 'firing') this.options.logger.warn({ event: 'alert_firing', alert: n }, line);
    else this.options.logger.info({ event: 'alert_resolved', alert: n }, line);
    this.options.events?.notified?.(status);
    this.deliver(stored);
    return n;
  }

  private deliver(n: StoredNotification): void {
    const hook = this.compiledFrom?.webhook;
    if (!hook) return;
    const { logger, events } = this.options;
    const rule = (JSON.parse(n.body) as AlertNotification).rule;
    const p = deliverWebhook(hook, n.id, n.body, {
      retrying: (attempt, reason, waitMs) => {
        events?.retried?.();
        logger.warn({ event: 'alert_webhook_retry', rule, delivery: n.id, attempt, reason }, `alert webhook attempt ${attempt} for ${rule} failed (${reason}); retrying in ${waitMs} ms`);
      },
    }).then(async (result) => {
      events?.delivered?.(result);
      if (!result.ok) logger.error({ event: 'alert_webhook_failed', rule, delivery: n.id, attempts: result.attempts, reason: result.reason }, `alert webhook failed for ${rule}: ${result.reason}`);
      const outcome: Delivery = result.ok ? 'delivered' : 'failed';
      await this.options.store.alerts.setDelivery(n.id, outcome);
    }).catch((err: unknown) => {
      logger.error({ event: 'alert_webhook_failed', rule, delivery: n.id }, `alert webhook bookkeeping failed for ${rule}: ${(err as Error).message}`);
    }).finally(() => this.deliveries.delete(p));
    this.deliveries.add(p);
  }

  /** The alerts firing now (shared by every node). */
  async firing(): Promise<{ rule: string; group: string | null; since: number }[]> {
    const byId = new Map((this.options.config()?.rules ?? []).map((r) => [r.id, r]));
    return (await this.options.store.alerts.firing())
      .filter((f) => byId.has(f.rule))
      .map((f) => ({ rule: f.rule, group: byId.get(f.rule)!.groupBy === 'none' ? null : f.group, since: f.since }));
  }

  /** The latest notifications, oldest first (whichever node sent them). */
  async recent(limit = 200): Promise<AlertNotification[]> {
    return (await this.options.store.alerts.recentNotifications(limit)).map((n) => JSON.parse(n.body) as AlertNotification);
  }

  /** Waits for the evaluation and the notifications in flight (shutdown, tests). */
  async settle(): Promise<void> {
    await this.running?.catch(() => undefined);
    await Promise.all([...this.deliveries]);
  }

  /** Stops evaluating and gives the lead up, so another node takes over at its next tick. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    this.leading = false;
    await this.leadership.release().catch(() => undefined);
  }
}
