// Where alerts keep what must outlive a process and be the same on every node: which
// (rule, group) is firing since when, the notifications sent (newest kept, with their
// delivery outcome), and who evaluates. SQLite for one machine (its worker processes
// included), PostgreSQL for a cluster; one contract suite (test/store/alert-state-contract.ts).

export interface FiringAlert {
  readonly rule: string;
  readonly group: string;
  /** The rule's definition hash: a changed rule starts afresh. */
  readonly ruleHash: string;
  readonly since: number;
}

export type Delivery = 'pending' | 'delivered' | 'failed' | 'none';

export interface StoredNotification {
  /** Unique per notification: the webhook's X-Pinpoint-Delivery header, for receivers that de-duplicate retries. */
  readonly id: string;
  readonly at: number;
  /** The notification JSON, exactly as POSTed. */
  readonly body: string;
  readonly delivery: Delivery;
}

export interface AlertTransition {
  readonly kind: 'firing' | 'resolved';
  readonly alert: FiringAlert;
  readonly notification: StoredNotification;
}

/** One evaluator at a time: the one that holds it. */
export interface Leadership {
  /** Takes or keeps the lead; false when another holds it or the store cannot be reached. */
  tryLead(now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lead up (shutdown): another node takes over at its next attempt. */
  release(): Promise<void>;
}

export interface AlertStateStore {
  firing(): Promise<FiringAlert[]>;
  /**
   * Records a state change and its notification in one transaction. false (and nothing
   * written) when the state is not the one the change starts from: another evaluator made it
   * already, so this one must not notify.
   */
  transition(t: AlertTransition): Promise<boolean>;
  /** Forgets the firing state of rules that are gone or changed. Returns how many. */
  forgetOtherRules(keep: readonly { readonly rule: string; readonly hash: string }[]): Promise<number>;
  /** The latest notifications, oldest first. */
  recentNotifications(limit: number): Promise<StoredNotification[]>;
  /** Notifications whose delivery never ended (their evaluator died mid-way), oldest first. */
  pendingNotifications(): Promise<StoredNotification[]>;
  setDelivery(id: string, delivery: Delivery): Promise<void>;
  leadership(holder: string): Leadership;
}

/** Notifications kept in the store (the admin API shows the latest 200). */
export const NOTIFICATIONS_KEPT = 1000;
