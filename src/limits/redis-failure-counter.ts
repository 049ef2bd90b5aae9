import type { Redis } from 'ioredis';
import type { AuthSurface, AuthThrottleSettings } from './auth-failure-throttle.ts';
import type { FailureAttempt, FailureCounter, FailureLock } from './failure-counter.ts';
import { failureAttemptLua, failureFailedLua, failureReleaseLua } from './redis/failure-scripts.ts';

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
  pinpointAuthAttempt(...keysAndArgs: string[]): Promise<[admitted: number, scope: number, retryAfterMs: number]>;
  pinpointAuthFailed(...keysAndArgs: string[]): Promise<[scope: number, retryAfterMs: number]>;
  pinpointAuthRelease(...keysAndArgs: string[]): Promise<number>;
}

const scopeOf = (n: number) => (n === 2 ? 'global' as const : 'client' as const);

/** Failure counts shared by every node through Redis, one atomic script per step. */
export class RedisFailureCounter implements FailureCounter {
  private readonly redis: Redis & FailureCommands;
  private readonly prefix: string;

  constructor(options: RedisFailureCounterOptions) {
    this.redis = options.redis as Redis & FailureCommands;
    this.prefix = `${options.prefix ?? 'pinpoint:'}auth:`;
    // defineCommand is idempotent per name, so a second counter on the same client is harmless.
    this.redis.defineCommand('pinpointAuthAttempt', { numberOfKeys: 5, lua: failureAttemptLua });
    this.redis.defineCommand('pinpointAuthFailed', { numberOfKeys: 5, lua: failureFailedLua });
    this.redis.defineCommand('pinpointAuthRelease', { numberOfKeys: 5, lua: failureReleaseLua });
  }

  get isAvailable(): boolean { return this.redis.status === 'ready'; }

  async attempt(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureAttempt> {
    const [admitted, scope, retryAfterMs] = await this.redis.pinpointAuthAttempt(...this.keysAndArgs(surface, client, settings));
    return admitted === 1 ? { admitted: true } : { admitted: false, scope: scopeOf(scope), retryAfterMs };
  }

  async failed(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<FailureLock | null> {
    const [scope, retryAfterMs] = await this.redis.pinpointAuthFailed(...this.keysAndArgs(surface, client, settings));
    return scope === 0 ? null : { scope: scopeOf(scope), retryAfterMs };
  }

  async succeeded(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<void> {
    await this.redis.pinpointAuthRelease(...this.keysAndArgs(surface, client, settings), '1');
  }

  async released(surface: AuthSurface, client: string, settings: AuthThrottleSettings): Promise<void> {
    await this.redis.pinpointAuthRelease(...this.keysAndArgs(surface, client, settings), '0');
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
