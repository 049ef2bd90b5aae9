import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.ts';
import { watchConfigFile } from '../config/watch.ts';
import { startGateway, type Gateway } from '../server/gateway.ts';
import { createLogger, type Logger } from '../server/logger.ts';
import { startAdminIfConfigured } from '../admin/start.ts';

export const serveUsage = `pinpoint serve --config FILE [--data-dir DIR] [--port N] [--host ADDR]
  Validates the config (refusing to start on any problem), then serves it; reloads it on change or SIGHUP.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
  } });
  if (!values.config) { process.stderr.write(`${serveUsage}\n`); return 2; }
  const dataDir = resolve(values['data-dir'] ?? './.pinpoint');
  const logger = createLogger();
  const gateway = await startOrExplain(logger, { configFile: resolve(values.config), databaseFile: join(dataDir, 'pinpoint.db'), port: portOption(values.port), host: values.host });
  if (!gateway) return 1;
  const admin = await startAdminIfConfigured(gateway, logger, join(dataDir, 'pinpoint.db'));
  runUntilSignalled(gateway, logger, resolve(values.config), async () => { await admin?.close(); });
  return 0;
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
