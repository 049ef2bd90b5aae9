import { randomBytes } from 'node:crypto';

// The CI machine runs PostgreSQL and Redis on loopback. Tests use them for real, each run
// under its own database name or key prefix, so runs can overlap and leave nothing behind.

export const redisUrl = process.env.PINPOINT_TEST_REDIS ?? 'redis://127.0.0.1:6379';
export const postgresBase = process.env.PINPOINT_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432';

/** A name no other test run uses: lower-case so it is a valid PostgreSQL identifier as is. */
export function uniqueName(purpose: string): string {
  return `pp_${purpose}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function uniquePrefix(purpose: string): string {
  return `${uniqueName(purpose)}:`;
}
