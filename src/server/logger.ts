import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug'>;

/** Lifecycle and operational events as JSON lines on stderr; request decisions go to the call log. */
export function createLogger(level: string = process.env.PINPOINT_LOG_LEVEL ?? 'info'): Logger {
  // In a worker process of `--workers N`, every line says which worker wrote it.
  const worker = process.env.PINPOINT_WORKER_NUMBER;
  return pino({ level, base: { service: 'pinpoint', ...(worker ? { worker: Number(worker), pid: process.pid } : {}) } }, pino.destination(2));
}

export const silentLogger: Logger = pino({ level: 'silent' });
