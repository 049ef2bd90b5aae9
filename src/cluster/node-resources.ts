import type { CounterStore } from '../limits/counter-store.ts';
import type { FailureCounter } from '../limits/failure-counter.ts';
import type { RedisCounterStore } from '../limits/redis-counter-store.ts';
import type { Gateway } from '../server/gateway.ts';
import type { Logger } from '../server/logger.ts';
import { openStore, storeLocation } from '../store/open-store.ts';
import type { ConfigVersionRow } from '../store/sqlite/config-versions.ts';
import { describeLocation, type Store, type StoreLocation } from '../store/store.ts';
import type { ConfigSync } from './config-sync.ts';
import type { StateStore } from '../store/state-store.ts';

export interface NodeOptions {
  /** --store: a postgresql:// URL or a SQLite file; default the data directory's pinpoint.db. */
  readonly store?: string | undefined;
  /** --redis: a redis:// URL for shared counters; default in-process counters. */
  readonly redis?: string | undefined;
  readonly dataDir: string;
  readonly logger: Logger;
  /** How many worker processes serve (for the per-process warning of local counters). */
  readonly workers?: number;
  readonly resyncMs?: number;
}

/** What a gateway node shares with its peers, opened before the gateway starts. */
export interface NodeResources {
  readonly location: StoreLocation;
  /** Set for PostgreSQL: the gateway keeps its call log and config versions there. */
  readonly store: Store | undefined;
  /** Set for PostgreSQL: the tenancy state (tenants, keys, policies, …) shared by every node. */
  readonly stateStore: StateStore | undefined;
  readonly counters: CounterStore | undefined;
  /** With --redis: brute-force failure counts shared by every node (admin tokens, client secrets). */
  readonly authFailures: FailureCounter | undefined;
  /** The version to start on when the store already has one: a node joins what is there. */
  readonly initialConfig: ConfigVersionRow | undefined;
  /** Starts following the cluster's config versions (PostgreSQL only). */
  attach(gateway: Gateway): void;
  close(): Promise<void>;
}

export const redisPrefix = (): string => process.env.PINPOINT_REDIS_PREFIX ?? 'pinpoint:';

export async function openNodeResources(options: NodeOptions, behaviour: { join: boolean }): Promise<NodeResources> {
  const { logger } = options;
  const location = storeLocation(options.store, options.dataDir);
  const store = location.kind === 'postgres' ? await openStore(location) : undefined;
  // The tenancy state lives in the same database, on the same pool (migration 2 made its tables).
  const stateStore = store ? await sharedStateStore(store) : undefined;
  let counters: RedisCounterStore | undefined;
  let authFailures: FailureCounter | undefined;
  if (options.redis) {
    // ioredis and pg are loaded only by the processes that use them: the CLI stays quick.
    const { RedisCounterStore } = await import('../limits/redis-counter-store.ts');
    counters = new RedisCounterStore({
      url: options.redis, prefix: redisPrefix(),
      ...(process.env.PINPOINT_REDIS_TIMEOUT_MS ? { commandTimeoutMs: Number(process.env.PINPOINT_REDIS_TIMEOUT_MS) } : {}),
      onStateChange: (available, detail) => available
        ? logger.info({ event: 'limiter_available' }, `shared limiter (Redis) available: ${detail}`)
        : logger.warn({ event: 'limiter_unavailable', detail }, `shared limiter (Redis) unavailable: ${detail}; routes apply their failMode`),
    });
    // On the limiter's connection: one per process, and its no-offline-queue, short-timeout
    // settings are what a request path needs. The gateway closes it with the counters.
    const { RedisFailureCounter } = await import('../limits/redis-failure-counter.ts');
    authFailures = new RedisFailureCounter({ redis: counters.redis, prefix: redisPrefix() });
    try {
      await counters.ready(5000);
    } catch (err) {
      logger.warn({ event: 'limiter_unavailable' }, `${(err as Error).message}; starting anyway, routes apply their failMode until it answers`);
    }
  } else if ((options.workers ?? 1) > 1) {
    logger.warn({ event: 'limits_per_process', workers: options.workers }, `rate limits and quotas are counted per worker process (no --redis): with ${options.workers} workers a limit of L admits up to ${options.workers}×L. Pass --redis to share them.`);
  }
  const initialConfig = store && behaviour.join ? (await store.latestConfigVersion()) ?? undefined : undefined;
  if (initialConfig) logger.info({ event: 'config_joined', configVersion: initialConfig.version }, `joining config v${initialConfig.version} from the shared store ${describeLocation(location)} (edit the config file or send SIGHUP to publish the file instead)`);
  let sync: ConfigSync | null = null;
  const { startConfigSync } = store ? await import('./config-sync.ts') : { startConfigSync: null };
  return {
    location, store, stateStore, counters, authFailures, initialConfig,
    attach(gateway) {
      if (stateStore) gateway.tenancy.onAdopted((a) => logger.info({ event: 'state_adopted', stateVersion: a.version, via: a.via, lagMs: a.lagMs }, `state v${a.version} adopted from the shared store (${a.via}, ${a.lagMs} ms after it was committed)`));
      if (store && startConfigSync && location.kind === 'postgres') sync = startConfigSync({ url: location.url, store, gateway, logger, ...(options.resyncMs ? { resyncMs: options.resyncMs } : {}), onStateChange: (via) => { void gateway.tenancy.refresh(via); } });
    },
    async close() {
      await sync?.stop();
      await store?.close();
      // The gateway closes the counters it was given.
    },
  };
}

/** `--reset`: forgets the shared call log, config versions and counters. Run once, by one process. */
export async function resetShared(options: NodeOptions): Promise<string[]> {
  const done: string[] = [];
  const location = storeLocation(options.store, options.dataDir);
  if (location.kind === 'postgres') {
    const store = await openStore(location);
    try {
      await store.reset();
      await (await sharedStateStore(store)).reset();
    } finally { await store.close(); }
    done.push(`call log, config versions and tenancy state in ${describeLocation(location)}`);
  }
  if (options.redis) {
    const { RedisCounterStore } = await import('../limits/redis-counter-store.ts');
    const counters = new RedisCounterStore({ url: options.redis, prefix: redisPrefix() });
    try {
      await counters.ready(5000);
      const n = await counters.clear();
      done.push(`${n} counters under ${redisPrefix()} in Redis`);
    } finally {
      counters.close();
    }
  }
  return done;
}

/** The tenancy state store on a PostgreSQL store's pool (closing it leaves the pool to the store). */
async function sharedStateStore(store: Store): Promise<import('../store/postgres/state-store.ts').PostgresStateStore> {
  const [{ PostgresStateStore }, { PostgresStore }] = await Promise.all([import('../store/postgres/state-store.ts'), import('../store/postgres/postgres-store.ts')]);
  if (!(store instanceof PostgresStore)) throw new Error('the tenancy state needs a PostgreSQL store');
  return new PostgresStateStore(store.pool);
}
