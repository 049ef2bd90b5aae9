import type { Redis } from 'ioredis';
import type { AuthSurface, AuthThrottleSettings } from './auth-failure-throttle.ts';
import type { FailureBar, FailureCounter, FailureVerdict } from './failure-counter.ts';
import { failureCheckLua, failureFailedLua, failureSucceededLua } from './redis/failure-scripts.ts';

export interface RedisFailureCounterOptions {
  /**
   * A connected client, usually the rate limiter's (RedisCounterStore.redis): one connection
   * per process, and its settings (no offline queue, short command timeout) are the ones a
   * request path needs. Its owner closes it.
   */
  readonly redis: Redis;
  /** Every key starts with this (then `auth:`), so several clusters or test runs can share one Redis. */
  readonly prefix?: string;
}

interface FailureCommands {
  pinpointAuthCheck(...keysAndArgs: string[]): Promise<[scope: number, retryAfterMs: number]>;
  pinpointAuthFailed(...keysAndArgs: string[]): Promise<[barScope: number, barMs: number, lockScope: number, lockMs: number]>;
  pinpointAuthSucceeded(...keysAndArgs: string[]): Promise<[scope: number, retryAfterMs: number]>;
}

const bar = (scope: number, retryAfterMs: number): FailureBar | null => (scope === 0 ? null : { scope: scope === 2 ? 'global' : 'client', retryAfterMs });

/** Failure counts shared by every node through Redis, one atomic script per step. */
export class RedisFailureCounter implements FailureCounter {
  private readonly redis: Redis & FailureCommands;
  private readonly prefix: string;

  constructor(options: RedisFailureCounterOptions) {
    this.redis = options.redis as Redis & FailureCommands;
    this.prefix = `${options.prefix ?? 'pinpoint:'}auth:`;
    // defineCommand is idempotent per name, so a second counter on the same client is harmless.
    this.redis.defineCommand('pinpointAuthCheck', { numberOfKeys: 5, lua: failureCheckLua });
    this.redis.defineCommand('pinpointAuthFailed', { numberOfKeys: 5, lua: failureFailedLua });
    this.redis.defineCommand('pinpointAuthSucceeded', { numberOfKeys: 5, lua: failureSucceededLua });
  }

  get isAvailable(): boolean { return this.redis.status === 'ready'; }

  async check(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureBar | null> {
    const [scope, retryAfterMs] = await this.redis.pinpointAuthCheck(...this.keysAndArgs(surface, client, settings));
    return bar(scope, retryAfterMs);
  }

  async failed(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureVerdict> {
    const [barScope, barMs, lockScope, lockMs] = await this.redis.pinpointAuthFailed(...this.keysAndArgs(surface, client, settings));
    return { barred: bar(barScope, barMs), lock: bar(lockScope, lockMs) };
  }

  async succeeded(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureBar | null> {
    const [scope, retryAfterMs] = await this.redis.pinpointAuthSucceeded(...this.keysAndArgs(surface, client, settings));
    return bar(scope, retryAfterMs);
  }

  /** The keys a surface uses under the prefix, for tests and `--reset`. */
  keyPattern(surface: AuthSurface): string { return `${this.prefix}${surface}:*`; }

  private keysAndArgs(surface: AuthSurface, client: string, s: AuthThrottleSettings): string[] {
    const p = `${this.prefix}${surface}:`;
    return [
      `${p}count:${client}`, `${p}lock:${client}`, `${p}proven:${client}`, `${p}count`, `${p}lock`,
      String(s.maxFailures), String(s.globalMaxFailures), String(Math.ceil(s.windowSeconds * 1000)),
    ];
  }
}
