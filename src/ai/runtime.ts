import type { DatabaseSync } from 'node:sqlite';
import { openDatabase } from '../store/sqlite/database.ts';
import { QuotaLedger } from './quota-ledger.ts';
import { EnvSecretSource, SecretResolver, type SecretSource } from './secrets.ts';
import { UsageStore } from './usage-store.ts';

/**
 * What the AI gateway keeps across config reloads: the usage store, the quota accounts and
 * the secret cache. Created once per gateway process; compiled configs only point at it.
 */
export class AiRuntime {
  readonly secrets: SecretResolver;
  readonly usage: UsageStore;
  readonly ledger: QuotaLedger;
  readonly #db: DatabaseSync;

  constructor(databaseFile: string, sources: readonly SecretSource[] = [new EnvSecretSource()]) {
    // A list without an env source still resolves env:// references: the vault adds to it.
    this.#db = openDatabase(databaseFile);
    this.usage = new UsageStore(this.#db);
    this.ledger = new QuotaLedger(this.usage);
    this.secrets = new SecretResolver(sources.some((s) => s.scheme === 'env') ? sources : [new EnvSecretSource(), ...sources]);
  }

  schemes(): ReadonlySet<string> {
    return this.secrets.schemes();
  }

  close(): void {
    this.usage.flush();
    this.#db.close();
  }
}
