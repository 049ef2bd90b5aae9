import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = Pick<PinoLogger, 'info' | 'warn' | 'error' | 'debug'>;

/** Lifecycle and operational events as JSON lines on stderr; request decisions go to the call log. */
export function createLogger(level: string = process.env.PINPOINT_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'pinpoint' } }, pino.destination(2));
}

export const silentLogger: Logger = pino({ level: 'silent' });
