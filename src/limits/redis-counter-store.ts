import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { CounterStore, LimitDecision, RateRule } from './counter-store.ts';
import { LocalCounterStore } from './local-counter-store.ts';
import { gcraLua, quotaLua, slidingLogLua } from './redis/scripts.ts';

export interface RedisCounterOptions {
  readonly url: string;
  /** Every key starts with this, so several gateways (or test runs) can share one Redis. */
  readonly prefix?: string;
  /**
   * How long a request waits for Redis before the route's fail mode applies. A limiter that
   * waits longer than the upstream would answer protects nothing.
   */
  readonly commandTimeoutMs?: number;
  readonly onStateChange?: (available: boolean, detail: string) => void;
}

type Reply = [allowed: number, remaining: number, resetMs: string, retryAfterMs: string, used: number];

interface LimiterCommands {
  pinpointSlidingLog(key: string, now: string, consume: string, limit: string, windowMs: string, member: string, slackMs: string): Promise<Reply>;
  pinpointGcra(key: string, now: string, consume: string, limit: string, windowMs: string, slackMs: string): Promise<Reply>;
  pinpointQuota(key: string, now: string, consume: string, limit: string, periodEnd: string, slackMs: string): Promise<Reply>;
}

/** State outlives its window by this much in Redis, so a node whose clock lags never sees it vanish early. */
const SLACK_MS = '60000';

const decision = (r: Reply): LimitDecision => ({
  allowed: r[0] === 1, remaining: r[1], resetMs: Number(r[2]), retryAfterMs: Number(r[3]), used: r[4],
});

/**
 * Counters shared by every gateway node, one Lua script per decision: one round trip, atomic,
 * with the local store's arithmetic. Commands issued in the same tick travel in one write
 * (auto-pipelining). While Redis is unreachable each decision is answered at once by an
 * in-process LocalCounterStore and flagged `unavailable`; the check applies the route's
 * fail mode to it. Nothing waits for a reconnect: commands are never queued offline.
 */
export class RedisCounterStore implements CounterStore {
  readonly redis: Redis & LimiterCommands;
  readonly prefix: string;
  private readonly fallback = new LocalCounterStore();
  private readonly memberTag = randomBytes(6).toString('base64url');
  private seq = 0;
  private lastError = 'not connected yet';
  private available = false;
  private readonly onStateChange: (available: boolean, detail: string) => void;

  constructor(options: RedisCounterOptions) {
    this.prefix = options.prefix ?? 'pinpoint:';
    this.onStateChange = options.onStateChange ?? (() => undefined);
    const redisOptions: RedisOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      // Generous by default: on a busy host the event loop can lag by hundreds of ms, and a
      // timer that fires before the (already arrived) reply is read would fail a healthy call.
      commandTimeout: options.commandTimeoutMs ?? 1000,
      maxRetriesPerRequest: 0,
      // Reconnect quickly at first, then every second: recovery is noticed within ~1 s.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      connectTimeout: 2000,
    };
    this.redis = new Redis(options.url, redisOptions) as Redis & LimiterCommands;
    this.redis.defineCommand('pinpointSlidingLog', { numberOfKeys: 1, lua: slidingLogLua });
    this.redis.defineCommand('pinpointGcra', { numberOfKeys: 1, lua: gcraLua });
    this.redis.defineCommand('pinpointQuota', { numberOfKeys: 1, lua: quotaLua });
    this.redis.on('ready', () => this.setAvailable(true, 'connected'));
    this.redis.on('error', (err: Error) => { this.lastError = err.message; });
    this.redis.on('close', () => this.setAvailable(false, `connection closed${this.lastError ? ` (${this.lastError})` : ''}`));
  }

  /** Resolves once connected, or rejects after `timeoutMs`: the server refuses to start blind. */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`Redis not reachable after ${timeoutMs} ms: ${this.lastError}`)); }, timeoutMs);
      const onReady = () => { cleanup(); resolve(); };
      const cleanup = () => { clearTimeout(timer); this.redis.off('ready', onReady); };
      this.redis.on('ready', onReady);
    });
  }

  get isAvailable(): boolean { return this.available; }

  rate(key: string, rule: RateRule, now: number, consume: boolean): LimitDecision | Promise<LimitDecision> {
    if (this.redis.status !== 'ready') return this.degraded(this.fallback.rate(key, rule, now, consume));
    const k = this.prefix + key;
    const reply = rule.algorithm === 'sliding-log'
      ? this.redis.pinpointSlidingLog(k, String(now), consume ? '1' : '0', String(rule.limit), String(rule.windowMs), `${this.memberTag}.${++this.seq}`, SLACK_MS)
      : this.redis.pinpointGcra(k, String(now), consume ? '1' : '0', String(rule.limit), String(rule.windowMs), SLACK_MS);
    return reply.then(decision, (err: Error) => this.failed(err, () => this.fallback.rate(key, rule, now, consume)));
  }

  quota(key: string, limit: number, periodEnd: number, now: number, consume: boolean): LimitDecision | Promise<LimitDecision> {
    if (this.redis.status !== 'ready') return this.degraded(this.fallback.quota(key, limit, periodEnd, now, consume));
    const reply = this.redis.pinpointQuota(this.prefix + key, String(now), consume ? '1' : '0', String(limit), String(periodEnd), SLACK_MS);
    return reply.then(decision, (err: Error) => this.failed(err, () => this.fallback.quota(key, limit, periodEnd, now, consume)));
  }

  /** Deletes every counter under the prefix (demo --reset, tests). */
  async clear(): Promise<number> {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${globEscape(this.prefix)}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await this.redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  close(): void {
    this.fallback.close();
    this.redis.disconnect();
  }

  private failed(err: Error, local: () => LimitDecision): LimitDecision {
    this.lastError = err.message;
    return this.degraded(local());
  }

  private degraded(d: LimitDecision): LimitDecision {
    return { ...d, unavailable: `Redis ${this.redis.status}: ${this.lastError}` };
  }

  private setAvailable(available: boolean, detail: string): void {
    if (available === this.available) return;
    this.available = available;
    if (available) this.lastError = '';
    this.onStateChange(available, detail);
  }
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
