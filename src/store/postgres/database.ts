import { userInfo } from 'node:os';
import pg from 'pg';
import { postgresMigrations } from './migrations.ts';

const { Client, Pool } = pg;

// Numbers we store as BIGINT are epoch milliseconds and counters: well inside 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** The advisory lock key under which migrations and config version numbers are taken. */
export const LOCK_MIGRATE = 7_410_001;
export const LOCK_CONFIG_VERSION = 7_410_002;
export const LOCK_STATE_VERSION = 7_410_003;
/** Held (session-level) by the one node that evaluates alert rules. */
export const LOCK_ALERT_LEADER = 7_410_004;

/**
 * libpq's default user when the URL names none: $PGUSER, then the operating-system user.
 * (node-postgres reads $USER only, which service managers and containers often leave unset.)
 */
export function withDefaultUser(url: string): string {
  const u = new URL(url);
  if (u.username) return url;
  let user = process.env.PGUSER || process.env.USER;
  if (!user) { try { user = userInfo().username; } catch { return url; } }
  u.username = encodeURIComponent(user);
  return u.toString();
}

/** Creates the URL's database when it does not exist (connecting to `postgres` to do so). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    // Another node created it between our probe and now.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await client.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Runs `work` in one transaction on a client of its own: COMMIT when it returns, ROLLBACK
 * (whose own failure is ignored, so the first error is the one thrown) when it throws.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function migrate(pool: pg.Pool): Promise<number> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    for (let v = current; v < postgresMigrations.length; v++) {
      await client.query(postgresMigrations[v]!);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v + 1, Date.now()]);
    }
    return postgresMigrations.length;
  });
}

// Each gateway process holds two small pools (config versions on the main thread, the call log
// in its worker thread, both sequential in practice) and one LISTEN connection: 5 connections.
export function createPool(url: string, max = 2): pg.Pool {
  const pool = new Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}
