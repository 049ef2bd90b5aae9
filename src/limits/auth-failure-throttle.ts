import { channel } from 'node:diagnostics_channel';
import { z } from 'zod';
import { canonicalIp, parseAddress } from '../net/cidr-set.ts';

// Brute-force protection for credential checks that are not API keys (admin tokens, the token
// service's client secrets): after N failed authentications from one client in a window, that
// client is refused outright, a right credential included, until the lock ends; otherwise a
// guesser would simply keep going and learn the answer from the first success. A global count
// is the backstop against guessing spread over many addresses.

export const authThrottleChannel = channel('pinpoint:auth-throttle');

export interface AuthThrottleSettings {
  /** Failed authentications from one client (an IPv4 address or an IPv6 /64) before it is locked. */
  readonly maxFailures: number;
  /** The counting window and the length of a lock, in seconds. */
  readonly windowSeconds: number;
  /** Failures from all clients together, per window, before unproven clients are locked too. */
  readonly globalMaxFailures: number;
  /** Clients tracked at once; the least recently seen is forgotten beyond this (memory bound). */
  readonly maxTrackedClients: number;
}

export const authThrottleSchema = (defaults: AuthThrottleSettings) => z.strictObject({
  maxFailures: z.number().int().min(1).max(1_000_000).default(defaults.maxFailures),
  windowSeconds: z.number().positive().max(86_400).default(defaults.windowSeconds),
  globalMaxFailures: z.number().int().min(1).max(100_000_000).default(defaults.globalMaxFailures),
  maxTrackedClients: z.number().int().min(1).max(10_000_000).default(defaults.maxTrackedClients),
}).default(defaults);

export type AuthSurface = 'admin' | 'token-service';
export type ThrottleScope = 'client' | 'global';

export interface AuthThrottled {
  readonly scope: ThrottleScope;
  /** The client key counted (IPv4 address or IPv6 /64). */
  readonly client: string;
  readonly retryAfterSeconds: number;
  readonly limit: number;
  readonly windowSeconds: number;
}

/** What metrics and tests see on authThrottleChannel; never a credential. */
export interface AuthThrottleEvent {
  readonly surface: AuthSurface;
  /**
   * failure: a failed authentication was counted; locked: a lock began; refused: an attempt was
   * refused; local: the shared count (Redis) could not be reached and this process decided alone.
   */
  readonly kind: 'failure' | 'locked' | 'refused' | 'local';
  readonly scope: ThrottleScope | null;
  readonly client: string;
}

export function publishAuthThrottleEvent(surface: AuthSurface, kind: AuthThrottleEvent['kind'], scope: ThrottleScope | null, client: string): void {
  if (authThrottleChannel.hasSubscribers) authThrottleChannel.publish({ surface, kind, scope, client } satisfies AuthThrottleEvent);
}

/**
 * What a verdict comes to. `refused`: the client was barred by the time the verdict counted (a
 * late attempt of a parallel burst, or a lock from another node): answer as throttled whatever
 * the credential was, so the late answers of a burst look alike. `lock`: the lock a failure began.
 */
export interface AuthVerdict {
  readonly refused: AuthThrottled | null;
  readonly lock: AuthThrottled | null;
}

/**
 * One authentication attempt, asked for before the credential is checked. Refused, or admitted
 * with the ways to report the verdict; the answer waits for it. A request refused before its
 * credential was judged (malformed, unknown grant) reports nothing: admission takes no budget.
 */
export type AuthAttempt =
  | { readonly refused: AuthThrottled }
  | {
    readonly refused: null;
    /** A wrong credential: counted. */
    failed(now?: number): AuthVerdict | Promise<AuthVerdict>;
    /** A right credential: a refusal when the client was barred by then (answer as throttled), else null. */
    succeeded(now?: number): AuthThrottled | null | Promise<AuthThrottled | null>;
  };

/**
 * What the admin API and the token service ask. A promise only when a shared count is
 * consulted (SharedAuthThrottle with Redis up); the in-process throttle answers synchronously.
 */
export interface AuthGate {
  readonly surface: AuthSurface;
  readonly settings: AuthThrottleSettings;
  attempt(ip: string, now?: number): AuthAttempt | Promise<AuthAttempt>;
}

/** A refusal as callers see it: the limit of its scope, and Retry-After in whole seconds (at least 1). */
export function throttledFor(settings: AuthThrottleSettings, scope: ThrottleScope, client: string, retryAfterMs: number): AuthThrottled {
  return {
    scope, client, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    limit: scope === 'client' ? settings.maxFailures : settings.globalMaxFailures, windowSeconds: settings.windowSeconds,
  };
}

interface ClientEntry {
  windowStart: number;
  failures: number;
  lockedUntil: number;
  lastSuccessAt: number;
}

/**
 * IPv6 clients are counted per /64: one host usually holds a whole /64, so counting single
 * addresses would give it 2^64 fresh budgets.
 */
export function clientKey(ip: string): string {
  const bytes = parseAddress(ip);
  if (bytes === null || bytes.length === 4) return canonicalIp(ip);
  const hextets: string[] = [];
  for (let i = 0; i < 8; i += 2) hextets.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${hextets.join(':')}::/64`;
}

export class AuthFailureThrottle implements AuthGate {
  readonly surface: AuthSurface;
  readonly settings: AuthThrottleSettings;
  private readonly windowMs: number;
  /** Insertion order is recency order: a touched entry is re-inserted at the end (LRU). */
  private readonly clients = new Map<string, ClientEntry>();
  private globalStart = 0;
  private globalFailures = 0;
  private globalLockedUntil = 0;

  constructor(surface: AuthSurface, settings: AuthThrottleSettings) {
    this.surface = surface;
    this.settings = settings;
    this.windowMs = settings.windowSeconds * 1000;
  }

  get trackedClients(): number { return this.clients.size; }

  attempt(ip: string, now: number = Date.now()): AuthAttempt {
    const refused = this.refusal(ip, now);
    if (refused) return { refused };
    // The verdict is judged again when it comes: between the two, other attempts of the same
    // client (a parallel burst while a credential check awaits) may have used up the budget.
    return {
      refused: null,
      failed: (at = Date.now()) => {
        const late = this.refusal(ip, at);
        return { refused: late, lock: this.failed(ip, at) };
      },
      succeeded: (at = Date.now()) => {
        const late = this.refusal(ip, at);
        if (!late) this.succeeded(ip, at);
        return late;
      },
    };
  }

  /** A refusal when this client may not authenticate now (asked before the credential is checked). */
  refusal(ip: string, now: number = Date.now()): AuthThrottled | null {
    const client = clientKey(ip);
    const e = this.clients.get(client);
    let out: AuthThrottled | null = null;
    if (e && e.lockedUntil > now) {
      // A locked client that keeps trying is the most recently seen: the LRU cap must not free it.
      this.clients.delete(client);
      this.clients.set(client, e);
      out = this.throttled('client', client, e.lockedUntil, now);
    }
    // During a global lock, a client that proved a credential within the window and has not
    // failed since keeps working: a distributed guesser then locks out only unproven clients,
    // not the admins at work, and cannot buy its way past the backstop with a credential of its own.
    else if (this.globalLockedUntil > now && !(e && now - e.lastSuccessAt < this.windowMs && (e.failures === 0 || now - e.windowStart >= this.windowMs))) {
      out = this.throttled('global', client, this.globalLockedUntil, now);
    }
    if (out) this.publish('refused', out.scope, client);
    return out;
  }

  /** Counts a failed authentication; returns the lock when this failure started one. */
  failed(ip: string, now: number = Date.now()): AuthThrottled | null {
    const client = clientKey(ip);
    this.publish('failure', null, client);
    if (now - this.globalStart >= this.windowMs) { this.globalStart = now; this.globalFailures = 0; }
    this.globalFailures++;
    let lock: AuthThrottled | null = null;
    if (this.globalFailures >= this.settings.globalMaxFailures && this.globalLockedUntil <= now) {
      this.globalLockedUntil = now + this.windowMs;
      lock = this.throttled('global', client, this.globalLockedUntil, now);
      this.publish('locked', 'global', client);
    }
    const e = this.touch(client, now);
    if (now - e.windowStart >= this.windowMs) { e.windowStart = now; e.failures = 0; }
    e.failures++;
    if (e.failures >= this.settings.maxFailures && e.lockedUntil <= now) {
      e.lockedUntil = now + this.windowMs;
      lock = this.throttled('client', client, e.lockedUntil, now);
      this.publish('locked', 'client', client);
    }
    return lock;
  }

  /**
   * Records a success. It does not reset the failure count: a caller holding one low-privilege
   * token could otherwise reset its budget between guesses at another.
   */
  succeeded(ip: string, now: number = Date.now()): void {
    this.touch(clientKey(ip), now).lastSuccessAt = now;
  }

  private touch(client: string, now: number): ClientEntry {
    let e = this.clients.get(client);
    if (e) this.clients.delete(client);
    else e = { windowStart: now, failures: 0, lockedUntil: 0, lastSuccessAt: -Infinity };
    this.clients.set(client, e);
    // Beyond the cap the least recently seen client is forgotten. A guesser with more addresses
    // than the cap meets the global count long before (globalMaxFailures is far below the cap).
    while (this.clients.size > this.settings.maxTrackedClients) {
      const oldest = this.clients.keys().next().value as string;
      this.clients.delete(oldest);
    }
    return e;
  }

  private throttled(scope: ThrottleScope, client: string, until: number, now: number): AuthThrottled {
    return throttledFor(this.settings, scope, client, until - now);
  }


  private publish(kind: AuthThrottleEvent['kind'], scope: ThrottleScope | null, client: string): void {
    publishAuthThrottleEvent(this.surface, kind, scope, client);
  }
}
