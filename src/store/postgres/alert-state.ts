import pg from 'pg';
import { NOTIFICATIONS_KEPT, type AlertStateStore, type AlertTransition, type Delivery, type FiringAlert, type Leadership, type StoredNotification } from '../alert-state.ts';
import { inTransaction, LOCK_ALERT_LEADER } from './database.ts';

// Firing state and notifications shared by the nodes (tables of migration 3). The lead is a
// session-level advisory lock on a connection of its own: when the leading process dies its
// connection closes, PostgreSQL releases the lock, and the next node that asks gets it.

export class PostgresAlertState implements AlertStateStore {
  private readonly pool: pg.Pool;
  private readonly url: string;
  constructor(pool: pg.Pool, url: string) { this.pool = pool; this.url = url; }

  async firing(): Promise<FiringAlert[]> {
    return (await this.pool.query<FiringAlert>('SELECT rule, grp AS "group", rule_hash AS "ruleHash", since FROM alert_state ORDER BY rule, grp')).rows;
  }

  transition(t: AlertTransition): Promise<boolean> {
    const a = t.alert;
    return inTransaction(this.pool, async (client) => {
      const r = t.kind === 'firing'
        ? await client.query('INSERT INTO alert_state (rule, grp, rule_hash, since) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [a.rule, a.group, a.ruleHash, a.since])
        : await client.query('DELETE FROM alert_state WHERE rule = $1 AND grp = $2 AND since = $3', [a.rule, a.group, a.since]);
      if (r.rowCount !== 1) return false;
      const n = t.notification;
      await client.query('INSERT INTO alert_notifications (id, at, body, delivery) VALUES ($1, $2, $3, $4)', [n.id, n.at, n.body, n.delivery]);
      await client.query('DELETE FROM alert_notifications WHERE seq <= (SELECT MAX(seq) FROM alert_notifications) - $1', [NOTIFICATIONS_KEPT]);
      return true;
    });
  }

  async forgetOtherRules(keep: readonly { rule: string; hash: string }[]): Promise<number> {
    const r = await this.pool.query(`DELETE FROM alert_state s WHERE NOT EXISTS (
      SELECT 1 FROM unnest($1::text[], $2::text[]) AS k(rule, hash) WHERE k.rule = s.rule AND k.hash = s.rule_hash)`, [keep.map((k) => k.rule), keep.map((k) => k.hash)]);
    return r.rowCount ?? 0;
  }

  async recentNotifications(limit: number): Promise<StoredNotification[]> {
    return (await this.pool.query<StoredNotification>('SELECT id, at, body, delivery FROM alert_notifications ORDER BY seq DESC LIMIT $1', [limit])).rows.reverse();
  }

  async pendingNotifications(): Promise<StoredNotification[]> {
    return (await this.pool.query<StoredNotification>("SELECT id, at, body, delivery FROM alert_notifications WHERE delivery = 'pending' ORDER BY seq")).rows;
  }

  async setDelivery(id: string, delivery: Delivery): Promise<void> {
    await this.pool.query('UPDATE alert_notifications SET delivery = $1 WHERE id = $2', [delivery, id]);
  }

  leadership(_holder: string): Leadership { return new AdvisoryLeadership(this.url); }
}

class AdvisoryLeadership implements Leadership {
  private client: pg.Client | null = null;
  private held = false;
  private readonly url: string;
  constructor(url: string) { this.url = url; }

  private drop(c: pg.Client | null): void {
    if (c === null || c !== this.client) return;
    this.client = null;
    this.held = false;
    void c.end().catch(() => undefined);
  }

  async tryLead(): Promise<boolean> {
    let c = this.client;
    try {
      if (c === null) {
        c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000, keepAlive: true });
        const mine = c;
        // A broken connection means the lock is gone with it: stop leading at once.
        c.on('error', () => this.drop(mine));
        c.on('end', () => this.drop(mine));
        this.client = c;
        await c.connect();
        // The server notices a vanished leader host (no FIN) in ~15 s instead of the OS default of hours.
        await c.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 5');
      }
      if (this.held) {
        // Still ours only if the session that holds it is alive.
        await c.query('SELECT 1');
        return true;
      }
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_ALERT_LEADER]);
      this.held = rows[0]?.ok === true;
      return this.held;
    } catch {
      this.drop(c);
      return false;
    }
  }

  async release(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.held = false;
    // Ending the session releases its advisory locks.
    if (c) await c.end().catch(() => undefined);
  }
}
