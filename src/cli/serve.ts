import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.ts';
import { watchConfigFile } from '../config/watch.ts';
import { startGateway, type Gateway } from '../server/gateway.ts';
import { createLogger, type Logger } from '../server/logger.ts';
import { adminPortOf, startAdminIfConfigured } from '../admin/start.ts';
import { openNodeResources, type NodeResources } from '../cluster/node-resources.ts';
import { describeLocation } from '../store/store.ts';
import { isWorkerProcess, runWorkers } from '../cluster/workers.ts';
import { storeLocation, StoreUrlError } from '../store/open-store.ts';
import { openServeVault } from './serve-vault.ts';
import { VaultAttachment } from '../vault/vault-attachment.ts';

export const serveUsage = `pinpoint serve --config FILE [--data-dir DIR] [--port N] [--host ADDR]
               [--store postgresql://HOST/DB | FILE] [--redis redis://HOST:PORT] [--workers N] [--join]
  Validates the config (refusing to start on any problem), then serves it; reloads it on change or SIGHUP.
  --store: where the call log and config versions live (PostgreSQL: shared by every node; created if missing).
  --redis: share rate limits and quotas between nodes and workers. --workers N: N processes on one listener.
  --join: with a shared store, start on its latest config version instead of publishing the file.
  --vault-settings FILE --vault-identity [TENANT/]CLIENT_ID [--vault-data-dir DIR]: AI provider keys written as
  vault://<vault>/<secret> are read from that vault (vault.db in DIR, default --data-dir; master key from
  PINPOINT_VAULT_MASTER_KEY[_FILE]) as app CLIENT_ID, which needs secrets get (docs/ai-gateway.md); name
  its TENANT when that client id is registered in several tenants.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
    store: { type: 'string' }, redis: { type: 'string' }, workers: { type: 'string' }, join: { type: 'boolean', default: false },
    'vault-settings': { type: 'string' }, 'vault-data-dir': { type: 'string' }, 'vault-identity': { type: 'string' },
  } });
  if (!values.config) { process.stderr.write(`${serveUsage}\n`); return 2; }
  const dataDir = resolve(values['data-dir'] ?? './.pinpoint');
  const logger = createLogger();
  const workers = workersOption(values.workers);
  storeOption(values.store, dataDir);
  if (workers > 1 && !isWorkerProcess()) return runWorkers(workers, logger);
  const node = await openNodeOrExplain({ store: values.store, redis: values.redis, dataDir, logger, workers }, { join: values.join });
  if (!node) return 1;
  const vault = openServeVault(values, dataDir, logger);
  if (vault === 'failed') { node.counters?.close(); await node.close(); return 1; }
  const gateway = await startOrExplain(logger, {
    ...(vault ? { aiSecretSources: [vault.source] } : {}),
    configFile: resolve(values.config), databaseFile: node.location.kind === 'sqlite' ? node.location.file : join(dataDir, 'pinpoint.db'),
    port: portOption(values.port), host: values.host, store: node.store, stateStore: node.stateStore, counters: node.counters, initialConfig: node.initialConfig,
  });
  if (!gateway) { await vault?.reader.close(); node.counters?.close(); await node.close(); return 1; }
  node.attach(gateway);
  const vaults = new VaultAttachment();
  if (vault) vaults.attach(vault.reader);
  const admin = await listenOrExplain('admin API', adminPortOf(gateway), 'set admin.port in the config', () => startAdminIfConfigured(gateway, logger, join(dataDir, 'pinpoint.db'), undefined, vaults, node.authFailures));
  if (admin === 'failed') { await gateway.close(); await vault?.reader.close(); await node.close(); return 1; }
  runUntilSignalled(gateway, logger, resolve(values.config), async () => { await admin?.close(); await vault?.reader.close(); await node.close(); });
  return 0;
}

/** Opens the shared store and counters, or says in one line why it could not. */
export async function openNodeOrExplain(...args: Parameters<typeof openNodeResources>): Promise<NodeResources | null> {
  try {
    return await openNodeResources(...args);
  } catch (err) {
    process.stderr.write(`pinpoint: cannot open the store ${describeLocation(storeLocation(args[0].store, args[0].dataDir))}: ${(err as Error).message}\n`);
    return null;
  }
}

export function workersOption(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--workers must be a whole number from 1 to 256, got "${value}"`);
  return n;
}

/** Validates --store early, so a typo is a usage error and not a stack trace. */
export function storeOption(value: string | undefined, dataDir: string): void {
  try { storeLocation(value, dataDir); } catch (err) {
    if (err instanceof StoreUrlError) throw new UsageError(err.message);
    throw err;
  }
}

export function portOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${value}"`);
  return n;
}

export class UsageError extends Error {}

export async function startOrExplain(logger: Logger, options: Omit<Parameters<typeof startGateway>[0], "logger">): Promise<Gateway | null> {
  try {
    return await startGateway({ ...options, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pinpoint: the config has ${err.problems.length} problem(s); nothing was started:\n${err.message}\n`);
      return null;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`pinpoint: port already in use (${(err as Error).message}); choose another with --port\n`);
      return null;
    }
    throw err;
  }
}

/**
 * Starts a listener, or says in one line which port is taken and how to move it (a second
 * demo on the same ports would otherwise die with a stack trace). Other errors still throw.
 */
export async function listenOrExplain<T>(what: string, port: number, hint: string, start: () => Promise<T>): Promise<T | 'failed'> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    process.stderr.write(`pinpoint: the ${what} could not listen on port ${port}: ${code === 'EADDRINUSE' ? 'it is in use (another Pinpoint demo or server?)' : 'permission denied'}; ${hint}\n`);
    return 'failed';
  }
}

/** Hot reload on file change and SIGHUP; graceful drain on SIGINT/SIGTERM. */
export function runUntilSignalled(gateway: Gateway, logger: Logger, configFile: string, extraClose: () => Promise<void> = async () => undefined): void {
  const stopWatching = watchConfigFile(configFile, () => gateway.reload());
  process.on('SIGHUP', () => gateway.reload());
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, `received ${signal}, draining`);
    stopWatching();
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void Promise.all([gateway.close(), extraClose()]).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
