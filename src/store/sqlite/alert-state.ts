import type { DatabaseSync } from 'node:sqlite';
import { NOTIFICATIONS_KEPT, type AlertStateStore, type AlertTransition, type Delivery, type FiringAlert, type Leadership, type StoredNotification } from '../alert-state.ts';

// Tables of their own, created if missing (like the state store's), so the call log's
// migrations stay untouched. Worker processes of one machine share the file: the lead is a
// lease row renewed by its holder at every evaluation.
const schema = `
  CREATE TABLE IF NOT EXISTS alert_state (rule TEXT NOT NULL, grp TEXT NOT NULL, rule_hash TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (rule, grp));
  CREATE TABLE IF NOT EXISTS alert_notifications (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, at INTEGER NOT NULL, body TEXT NOT NULL, delivery TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS alert_leader (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_at INTEGER NOT NULL);`;

const copy = <T>(rows: unknown[]): T[] => rows.map((r) => ({ ...(r as object) }) as T);

export class SqliteAlertState implements AlertStateStore {
  private readonly db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(schema);
  }

  async firing(): Promise<FiringAlert[]> {
    return copy(this.db.prepare('SELECT rule, grp AS "group", rule_hash AS "ruleHash", since FROM alert_state ORDER BY rule, grp').all());
  }

  async transition(t: AlertTransition): Promise<boolean> {
    const a = t.alert;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const changed = t.kind === 'firing'
        ? this.db.prepare('INSERT INTO alert_state (rule, grp, rule_hash, since) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(a.rule, a.group, a.ruleHash, a.since).changes
        : this.db.prepare('DELETE FROM alert_state WHERE rule = ? AND grp = ? AND since = ?').run(a.rule, a.group, a.since).changes;
      if (Number(changed) === 1) {
        const n = t.notification;
        this.db.prepare('INSERT INTO alert_notifications (id, at, body, delivery) VALUES (?, ?, ?, ?)').run(n.id, n.at, n.body, n.delivery);
        this.db.prepare('DELETE FROM alert_notifications WHERE seq <= (SELECT MAX(seq) FROM alert_notifications) - ?').run(NOTIFICATIONS_KEPT);
      }
      this.db.exec('COMMIT');
      return Number(changed) === 1;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async forgetOtherRules(keep: readonly { rule: string; hash: string }[]): Promise<number> {
    const wanted = new Map(keep.map((k) => [k.rule, k.hash]));
    let n = 0;
    for (const f of await this.firing()) {
      if (wanted.get(f.rule) === f.ruleHash) continue;
      n += Number(this.db.prepare('DELETE FROM alert_state WHERE rule = ? AND grp = ? AND since = ?').run(f.rule, f.group, f.since).changes);
    }
    return n;
  }

  async recentNotifications(limit: number): Promise<StoredNotification[]> {
    return copy<StoredNotification>(this.db.prepare('SELECT id, at, body, delivery FROM alert_notifications ORDER BY seq DESC LIMIT ?').all(limit)).reverse();
  }

  async pendingNotifications(): Promise<StoredNotification[]> {
    return copy(this.db.prepare("SELECT id, at, body, delivery FROM alert_notifications WHERE delivery = 'pending' ORDER BY seq").all());
  }

  async setDelivery(id: string, delivery: Delivery): Promise<void> {
    this.db.prepare('UPDATE alert_notifications SET delivery = ? WHERE id = ?').run(delivery, id);
  }

  leadership(holder: string): Leadership {
    const db = this.db;
    return {
      async tryLead(now, ttlMs) {
        // One statement: take the lease when it is free, expired or already ours.
        const r = db.prepare(`INSERT INTO alert_leader (id, holder, expires_at) VALUES (1, ?, ?)
          ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE alert_leader.holder = excluded.holder OR alert_leader.expires_at < ?`).run(holder, now + ttlMs, now);
        return Number(r.changes) === 1;
      },
      async release() {
        if (db.isOpen) db.prepare('DELETE FROM alert_leader WHERE holder = ?').run(holder);
      },
    };
  }
}
