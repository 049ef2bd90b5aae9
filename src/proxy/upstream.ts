import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.ts';

export interface Target {
  readonly origin: string;
  readonly weight: number;
  readonly pool: Pool;
  /** Active health: false after `unhealthyAfter` failed probes. */
  healthy: boolean;
  probeFailures: number;
  probeSuccesses: number;
  /** Passive health: consecutive failed requests, and the time an ejection ends. */
  consecutiveFailures: number;
  ejectedUntil: number;
  /** Smooth weighted round-robin state (the nginx algorithm). */
  currentWeight: number;
}

export interface Pick {
  readonly target: Target;
  /** Every target looked unhealthy, so all were used anyway (Envoy's panic mode). */
  readonly panic: boolean;
}

/**
 * A named group of targets with keep-alive pools, balancing and health. Pools are reused
 * across config reloads when the upstream's config is unchanged, so a reload drops no
 * connection.
 */
export class Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly targets: readonly Target[];
  private rr = 0;
  private healthTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly closedSignal = Promise.withResolvers<void>();
  /** Requests routed here whose response is not over yet: a retired upstream waits for them. */
  private holders = 0;
  private retired = false;

  constructor(name: string, config: UpstreamConfig) {
    this.name = name;
    this.config = config;
    this.targets = config.targets.map((t) => {
      const origin = new URL(t.url).origin;
      return {
        origin, weight: t.weight,
        pool: new Pool(origin, {
          connections: config.connections,
          connect: { timeout: config.timeouts.connectMs },
          keepAliveTimeout: 4_000,
          pipelining: 1,
        }),
        healthy: true, probeFailures: 0, probeSuccesses: 0, consecutiveFailures: 0, ejectedUntil: 0, currentWeight: 0,
      };
    });
  }

  available(target: Target, now: number): boolean {
    return target.healthy && target.ejectedUntil <= now;
  }

  pick(now: number, exclude: ReadonlySet<Target> | null): Pick | null {
    const candidates = this.targets.filter((t) => !exclude?.has(t));
    if (candidates.length === 0) return null;
    let usable = candidates.filter((t) => this.available(t, now));
    const panic = usable.length === 0;
    if (panic) usable = candidates;
    if (usable.length === 1) return { target: usable[0]!, panic };
    if (this.config.balance === 'weighted') {
      let total = 0;
      let best: Target | null = null;
      for (const t of usable) {
        t.currentWeight += t.weight;
        total += t.weight;
        if (!best || t.currentWeight > best.currentWeight) best = t;
      }
      best!.currentWeight -= total;
      return { target: best!, panic };
    }
    const target = usable[this.rr++ % usable.length]!;
    if (this.rr > 1e9) this.rr = 0;
    return { target, panic };
  }

  reportFailure(target: Target, now: number): void {
    target.consecutiveFailures++;
    if (target.consecutiveFailures >= this.config.passive.failuresToEject) {
      target.ejectedUntil = now + this.config.passive.ejectMs;
      target.consecutiveFailures = 0;
    }
  }

  reportSuccess(target: Target): void {
    if (target.consecutiveFailures !== 0) target.consecutiveFailures = 0;
  }

  startHealthChecks(): void {
    const hc = this.config.healthCheck;
    if (!hc || this.healthTimer || this.retired || this.closed) return;
    const probeAll = () => { for (const t of this.targets) void this.probe(t); };
    this.healthTimer = setInterval(probeAll, hc.intervalMs);
    this.healthTimer.unref();
    probeAll();
  }

  private async probe(target: Target): Promise<void> {
    const hc = this.config.healthCheck!;
    let ok = false;
    try {
      const res = await target.pool.request({ path: hc.path, method: 'GET', headersTimeout: hc.timeoutMs, bodyTimeout: hc.timeoutMs, headers: { 'user-agent': 'pinpoint-health' } });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 400;
    } catch {
      ok = false;
    }
    if (this.closed) return;
    if (ok) {
      target.probeFailures = 0;
      if (++target.probeSuccesses >= hc.healthyAfter) target.healthy = true;
    } else {
      target.probeSuccesses = 0;
      if (++target.probeFailures >= hc.unhealthyAfter) target.healthy = false;
    }
  }

  health(now: number): { origin: string; healthy: boolean; ejected: boolean }[] {
    return this.targets.map((t) => ({ origin: t.origin, healthy: t.healthy, ejected: t.ejectedUntil > now }));
  }

  /**
   * Called when a request is routed here, before its checks run: the returned function is
   * called once its response is over. A request whose checks are asynchronous (a remote
   * counter store, a JWKS fetch) or that retries may dispatch well after a reload retired
   * this upstream, and a closed pool would fail it with a 502.
   */
  hold(): () => void {
    this.holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holders === 0 && this.retired) void this.close();
    };
  }

  /** No longer in the running config: stop probing now, close once no request holds it. Resolves when closed. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.healthTimer) { clearInterval(this.healthTimer); this.healthTimer = null; }
    if (this.holders === 0) void this.close();
    return this.closedSignal.promise;
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.healthTimer) { clearInterval(this.healthTimer); this.healthTimer = null; }
    // Pool.close waits for the requests already dispatched to finish.
    this.closing ??= Promise.all(this.targets.map((t) => t.pool.close().catch(() => undefined))).then(() => this.closedSignal.resolve());
    return this.closing;
  }
}
