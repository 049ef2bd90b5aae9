import { channel } from 'node:diagnostics_channel';
import pg from 'pg';
import type { Gateway } from '../server/gateway.ts';
import type { Logger } from '../server/logger.ts';
import { withDefaultUser } from '../store/postgres/database.ts';
import { CONFIG_CHANNEL } from '../store/postgres/postgres-store.ts';
import type { Store } from '../store/store.ts';

/** Published each time this node starts running a version recorded elsewhere: { version, lagMs, via }. */
export const configAdoptedChannel = channel('pinpoint:config-adopted');

export interface ConfigSyncOptions {
  readonly url: string;
  readonly store: Store;
  readonly gateway: Gateway;
  readonly logger: Logger;
  /** The safety net: a full comparison with the store this often, whatever notifications said. */
  readonly resyncMs?: number;
}

export interface ConfigSync {
  /** Compares with the store now and adopts its latest version if it differs. */
  resync(via: 'notify' | 'resync' | 'reconnect'): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps this node on the cluster's latest config version. PostgreSQL announces every new
 * version with NOTIFY in the transaction that records it, so a listener hears of it as the
 * row becomes visible (milliseconds); a periodic resync catches anything a dropped
 * connection missed, and a reconnect resyncs at once.
 */
export function startConfigSync(options: ConfigSyncOptions): ConfigSync {
  const { store, gateway, logger } = options;
  const resyncMs = options.resyncMs ?? 10_000;
  let client: pg.Client | null = null;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let retryTimer: NodeJS.Timeout | null = null;

  const compare = async (via: 'notify' | 'resync' | 'reconnect'): Promise<void> => {
    const latest = await store.latestConfigVersion();
    if (stopped || !latest) return;
    const current = gateway.current();
    if (latest.version === current.version && latest.hash === current.hash) return;
    const result = gateway.adopt(latest);
    const lagMs = Date.now() - latest.loadedAt;
    if (result.ok) {
      logger.info({ event: 'config_adopted', configVersion: latest.version, via, lagMs }, `config v${latest.version} adopted from the shared store (${via}, ${lagMs} ms after it was recorded)`);
      if (configAdoptedChannel.hasSubscribers) configAdoptedChannel.publish({ version: latest.version, lagMs, via });
    }
  };
  // One comparison at a time, in order: a burst of notifications cannot install versions out of order.
  const resync = (via: 'notify' | 'resync' | 'reconnect'): Promise<void> => {
    running = running.then(() => compare(via)).catch((err: unknown) => {
      logger.warn({ event: 'config_sync_failed', via, err: (err as Error).message }, `config sync (${via}) failed: ${(err as Error).message}`);
    });
    return running;
  };

  const listen = async (): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: withDefaultUser(options.url), connectionTimeoutMillis: 5000, keepAlive: true });
    c.on('notification', (n) => { if (n.channel === CONFIG_CHANNEL) void resync('notify'); });
    c.on('error', (err) => reconnect(c, err));
    c.on('end', () => reconnect(c, new Error('connection ended')));
    try {
      await c.connect();
      await c.query(`LISTEN ${CONFIG_CHANNEL}`);
      if (stopped) { await c.end(); return; }
      client = c;
      // Anything recorded while we were not listening.
      void resync('reconnect');
    } catch (err) {
      reconnect(c, err as Error);
    }
  };
  const reconnect = (c: pg.Client, err: Error): void => {
    if (stopped || retryTimer) return;
    if (client === c) client = null;
    c.removeAllListeners('end');
    c.end().catch(() => undefined);
    logger.warn({ event: 'config_listen_lost', err: err.message }, `config change listener lost (${err.message}); reconnecting`);
    retryTimer = setTimeout(() => { retryTimer = null; void listen(); }, 1000);
    retryTimer.unref();
  };

  const timer = setInterval(() => void resync('resync'), resyncMs);
  timer.unref();
  void listen();

  return {
    resync,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = null;
      if (c) { c.removeAllListeners('end'); await c.end().catch(() => undefined); }
      await running;
    },
  };
}
