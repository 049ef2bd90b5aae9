import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { JWK } from 'jose';
import type { SigningKeyStore, StoredSigningKey } from '../identity/signing-keys.ts';
import type { SecretSealer } from './secret-crypto.ts';

export interface SecretAttributes {
  readonly enabled: boolean;
  readonly nbf: number | null;
  readonly exp: number | null;
  readonly contentType: string | null;
  readonly tags: Readonly<Record<string, string>> | null;
}

export interface SecretVersion extends SecretAttributes {
  readonly vault: string;
  readonly name: string;
  readonly version: string;
  readonly seq: number;
  readonly created: number;
  readonly updated: number;
}

export interface DeletedSecret {
  readonly latest: SecretVersion;
  readonly deletedAt: number;
  readonly purgeAt: number;
}

export interface SecretInventoryEntry {
  readonly latest: SecretVersion;
  readonly versions: number;
  /** Set when the name is soft-deleted (epoch seconds). */
  readonly deletedAt: number | null;
  readonly purgeAt: number | null;
}

export interface BackupVersion extends SecretVersion {
  readonly value: string;
}

const migrations: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE secret_names (
     vault TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE,
     deleted_at INTEGER, purge_at INTEGER,
     PRIMARY KEY (vault, name));
   CREATE TABLE secret_versions (
     vault TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE, version TEXT NOT NULL, seq INTEGER NOT NULL,
     created INTEGER NOT NULL, updated INTEGER NOT NULL, enabled INTEGER NOT NULL, nbf INTEGER, exp INTEGER,
     content_type TEXT, tags TEXT, sealed BLOB NOT NULL,
     PRIMARY KEY (vault, name, version));
   CREATE UNIQUE INDEX secret_versions_seq ON secret_versions (vault, name, seq);
   CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, created_at INTEGER NOT NULL, retired_at INTEGER, public_jwk TEXT NOT NULL, sealed_private BLOB NOT NULL);`,
  // Policy versions outlive the process: "decided under vault policy version v7" still means
  // one vault.yaml text after a restart (the text is settings, never secret values).
  `CREATE TABLE policy_versions (version INTEGER PRIMARY KEY, hash TEXT NOT NULL, loaded_at INTEGER NOT NULL, file TEXT NOT NULL, text TEXT NOT NULL);`,
];

interface VersionRow {
  vault: string; name: string; version: string; seq: number; created: number; updated: number; enabled: number;
  nbf: number | null; exp: number | null; content_type: string | null; tags: string | null; sealed?: Uint8Array;
}

const toVersion = (r: VersionRow): SecretVersion => ({
  vault: r.vault, name: r.name, version: r.version, seq: r.seq, created: r.created, updated: r.updated, enabled: r.enabled === 1,
  nbf: r.nbf, exp: r.exp, contentType: r.content_type, tags: r.tags ? JSON.parse(r.tags) as Record<string, string> : null,
});

const COLS = 'v.vault, v.name, v.version, v.seq, v.created, v.updated, v.enabled, v.nbf, v.exp, v.content_type, v.tags';
const LATEST = `v.seq = (SELECT MAX(seq) FROM secret_versions m WHERE m.vault = v.vault AND m.name = v.name)`;

export class VaultStoreError extends Error {}

/**
 * The secrets of every vault in one SQLite file of its own. Writes are synchronous and
 * committed with synchronous=FULL before the caller answers, so an acknowledged write
 * survives a crash; values are sealed by the SecretSealer, never stored in clear.
 */
export class VaultStore {
  private readonly db: DatabaseSync;
  private readonly sealer: SecretSealer;
  private readonly stmt: Record<string, StatementSync>;

  constructor(file: string, sealer: SecretSealer) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new DatabaseSync(file);
    this.sealer = sealer;
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = FULL');
    const current = (this.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    for (let v = current; v < migrations.length; v++) {
      this.tx(() => { this.db.exec(migrations[v]!); this.db.exec(`PRAGMA user_version = ${v + 1}`); });
    }
    this.checkMasterKey();
    const p = (sql: string) => this.db.prepare(sql);
    this.stmt = {
      name: p('SELECT name, deleted_at, purge_at FROM secret_names WHERE vault = ? AND name = ?'),
      insertName: p('INSERT INTO secret_names (vault, name) VALUES (?, ?)'),
      maxSeq: p('SELECT MAX(seq) AS seq FROM secret_versions WHERE vault = ? AND name = ?'),
      insertVersion: p(`INSERT INTO secret_versions (vault, name, version, seq, created, updated, enabled, nbf, exp, content_type, tags, sealed)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      latest: p(`SELECT ${COLS}, v.sealed FROM secret_versions v WHERE v.vault = ? AND v.name = ? ORDER BY v.seq DESC LIMIT 1`),
      version: p(`SELECT ${COLS}, v.sealed FROM secret_versions v WHERE v.vault = ? AND v.name = ? AND v.version = ?`),
      list: p(`SELECT ${COLS} FROM secret_versions v JOIN secret_names n ON n.vault = v.vault AND n.name = v.name
        WHERE v.vault = ? AND n.deleted_at IS NULL AND v.name > ? AND ${LATEST} ORDER BY v.name COLLATE NOCASE LIMIT ?`),
      listVersions: p(`SELECT ${COLS} FROM secret_versions v WHERE v.vault = ? AND v.name = ? AND v.seq > ? ORDER BY v.seq LIMIT ?`),
      listDeleted: p(`SELECT ${COLS}, n.deleted_at, n.purge_at FROM secret_versions v JOIN secret_names n ON n.vault = v.vault AND n.name = v.name
        WHERE v.vault = ? AND n.deleted_at IS NOT NULL AND v.name > ? AND ${LATEST} ORDER BY v.name COLLATE NOCASE LIMIT ?`),
      update: p('UPDATE secret_versions SET enabled = ?, nbf = ?, exp = ?, content_type = ?, tags = ?, updated = ? WHERE vault = ? AND name = ? AND version = ?'),
      markDeleted: p('UPDATE secret_names SET deleted_at = ?, purge_at = ? WHERE vault = ? AND name = ?'),
      recover: p('UPDATE secret_names SET deleted_at = NULL, purge_at = NULL WHERE vault = ? AND name = ?'),
      purgeName: p('DELETE FROM secret_names WHERE vault = ? AND name = ?'),
      purgeVersions: p('DELETE FROM secret_versions WHERE vault = ? AND name = ?'),
      due: p('SELECT vault, name FROM secret_names WHERE purge_at IS NOT NULL AND purge_at <= ?'),
      liveLatest: p(`SELECT ${COLS}, v.sealed FROM secret_names n JOIN secret_versions v ON v.vault = n.vault AND v.name = n.name
        WHERE n.vault = ? AND n.name = ? AND n.deleted_at IS NULL ORDER BY v.seq DESC LIMIT 1`),
      liveVersion: p(`SELECT ${COLS}, v.sealed FROM secret_names n JOIN secret_versions v ON v.vault = n.vault AND v.name = n.name
        WHERE n.vault = ? AND n.name = ? AND n.deleted_at IS NULL AND v.version = ?`),
      allVersions: p(`SELECT ${COLS}, v.sealed FROM secret_versions v WHERE v.vault = ? AND v.name = ? ORDER BY v.seq`),
    };
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private checkMasterKey(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'master_key_fingerprint'").get() as { value: string } | undefined;
    const fp = this.sealer.fingerprint();
    if (!row) this.db.prepare("INSERT INTO meta (key, value) VALUES ('master_key_fingerprint', ?)").run(fp);
    else if (row.value !== fp) throw new VaultStoreError('the vault master key does not match the one this vault database was created with; refusing to start (no secret could be read)');
  }

  private context(vault: string, name: string, version: string): string {
    return `${vault}/${name.toLowerCase()}/${version}`;
  }

  /** 'deleted' when the name is soft-deleted: it can only be recovered or purged. */
  nameState(vault: string, name: string): 'absent' | 'live' | 'deleted' {
    const row = this.stmt.name!.get(vault, name) as { deleted_at: number | null } | undefined;
    return !row ? 'absent' : row.deleted_at === null ? 'live' : 'deleted';
  }

  setSecret(vault: string, name: string, version: string, value: string, attrs: SecretAttributes, now: number): SecretVersion | 'deleted' {
    return this.tx(() => {
      const state = this.nameState(vault, name);
      if (state === 'deleted') return 'deleted';
      if (state === 'absent') this.stmt.insertName!.run(vault, name);
      const stored = state === 'live' ? (this.stmt.latest!.get(vault, name) as unknown as VersionRow).name : name;
      this.insertVersion(vault, stored, version, value, attrs, now, now);
      return toVersion(this.stmt.version!.get(vault, name, version) as unknown as VersionRow);
    });
  }

  private insertVersion(vault: string, name: string, version: string, value: string, attrs: SecretAttributes, created: number, updated: number): void {
    const seq = ((this.stmt.maxSeq!.get(vault, name) as { seq: number | null }).seq ?? 0) + 1;
    const sealed = this.sealer.seal(Buffer.from(value, 'utf8'), this.context(vault, name, version));
    this.stmt.insertVersion!.run(vault, name, version, seq, created, updated, attrs.enabled ? 1 : 0, attrs.nbf, attrs.exp,
      attrs.contentType, attrs.tags ? JSON.stringify(attrs.tags) : null, sealed);
  }

  /** A live secret's version (the latest when `version` is null), without its value. */
  getVersion(vault: string, name: string, version: string | null): SecretVersion | null {
    if (this.nameState(vault, name) !== 'live') return null;
    const row = (version ? this.stmt.version!.get(vault, name, version) : this.stmt.latest!.get(vault, name)) as VersionRow | undefined;
    return row ? toVersion(row) : null;
  }

  /** Get secret in one statement (the hot path): the version and its value, or null when absent or deleted. */
  getWithValue(vault: string, name: string, version: string | null): { version: SecretVersion; value: () => string } | null {
    const row = (version ? this.stmt.liveVersion!.get(vault, name, version) : this.stmt.liveLatest!.get(vault, name)) as VersionRow | undefined;
    if (!row) return null;
    return { version: toVersion(row), value: () => this.sealer.open(Buffer.from(row.sealed!), this.context(vault, row.name, row.version)).toString('utf8') };
  }

  /**
   * Every secret name of a vault with its version count and latest version's attributes,
   * live and soft-deleted, for the admin API. Never reads a sealed value.
   */
  inventory(vault: string): SecretInventoryEntry[] {
    const rows = this.db.prepare(`SELECT ${COLS}, n.deleted_at, n.purge_at,
        (SELECT COUNT(*) FROM secret_versions c WHERE c.vault = v.vault AND c.name = v.name) AS versions
      FROM secret_versions v JOIN secret_names n ON n.vault = v.vault AND n.name = v.name
      WHERE v.vault = ? AND ${LATEST} ORDER BY v.name COLLATE NOCASE`).all(vault) as unknown as (VersionRow & { deleted_at: number | null; purge_at: number | null; versions: number })[];
    return rows.map((r) => ({ latest: toVersion(r), versions: r.versions, deletedAt: r.deleted_at, purgeAt: r.purge_at }));
  }

  listSecrets(vault: string, after: string, limit: number): SecretVersion[] {
    return (this.stmt.list!.all(vault, after, limit) as unknown as VersionRow[]).map(toVersion);
  }

  listVersions(vault: string, name: string, afterSeq: number, limit: number): SecretVersion[] {
    if (this.nameState(vault, name) !== 'live') return [];
    return (this.stmt.listVersions!.all(vault, name, afterSeq, limit) as unknown as VersionRow[]).map(toVersion);
  }

  updateVersion(vault: string, name: string, version: string | null, patch: Partial<SecretAttributes>, now: number): SecretVersion | null {
    return this.tx(() => {
      const current = this.getVersion(vault, name, version);
      if (!current) return null;
      const next = { ...current, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as SecretVersion;
      this.stmt.update!.run(next.enabled ? 1 : 0, next.nbf, next.exp, next.contentType, next.tags ? JSON.stringify(next.tags) : null, now, vault, name, current.version);
      return toVersion(this.stmt.version!.get(vault, name, current.version) as unknown as VersionRow);
    });
  }

  deleteSecret(vault: string, name: string, now: number, retentionDays: number): DeletedSecret | null {
    return this.tx(() => {
      const latest = this.getVersion(vault, name, null);
      if (!latest) return null;
      const purgeAt = now + retentionDays * 86_400;
      this.stmt.markDeleted!.run(now, purgeAt, vault, name);
      return { latest, deletedAt: now, purgeAt };
    });
  }

  getDeleted(vault: string, name: string): DeletedSecret | null {
    const n = this.stmt.name!.get(vault, name) as { deleted_at: number | null; purge_at: number | null } | undefined;
    if (!n || n.deleted_at === null) return null;
    const row = this.stmt.latest!.get(vault, name) as VersionRow | undefined;
    return row ? { latest: toVersion(row), deletedAt: n.deleted_at, purgeAt: n.purge_at! } : null;
  }

  listDeleted(vault: string, after: string, limit: number): DeletedSecret[] {
    return (this.stmt.listDeleted!.all(vault, after, limit) as unknown as (VersionRow & { deleted_at: number; purge_at: number })[])
      .map((r) => ({ latest: toVersion(r), deletedAt: r.deleted_at, purgeAt: r.purge_at }));
  }

  recover(vault: string, name: string): SecretVersion | null {
    return this.tx(() => {
      if (this.nameState(vault, name) !== 'deleted') return null;
      this.stmt.recover!.run(vault, name);
      return this.getVersion(vault, name, null);
    });
  }

  purge(vault: string, name: string): boolean {
    return this.tx(() => {
      if (this.nameState(vault, name) !== 'deleted') return false;
      this.stmt.purgeVersions!.run(vault, name);
      this.stmt.purgeName!.run(vault, name);
      return true;
    });
  }

  /** Purges soft-deleted secrets whose retention has passed; returns how many. */
  purgeDue(now: number): number {
    const due = this.stmt.due!.all(now) as { vault: string; name: string }[];
    for (const d of due) this.purge(d.vault, d.name);
    return due.length;
  }

  /** Every version with its value, for a backup blob that is sealed again before it leaves. */
  backupVersions(vault: string, name: string): BackupVersion[] | null {
    if (this.nameState(vault, name) !== 'live') return null;
    return (this.stmt.allVersions!.all(vault, name) as unknown as VersionRow[]).map((r) => ({
      ...toVersion(r), value: this.sealer.open(Buffer.from(r.sealed!), this.context(vault, r.name, r.version)).toString('utf8'),
    }));
  }

  /** Restores all versions under `name`; 'exists' when the name is taken (live or soft-deleted). */
  restore(vault: string, versions: readonly BackupVersion[]): SecretVersion | 'exists' {
    return this.tx(() => {
      const name = versions[0]!.name;
      if (this.nameState(vault, name) !== 'absent') return 'exists';
      this.stmt.insertName!.run(vault, name);
      for (const v of versions) this.insertVersion(vault, name, v.version, v.value, v, v.created, v.updated);
      return this.getVersion(vault, name, null)!;
    });
  }

  signingKeyStore(): SigningKeyStore {
    const ctx = (kid: string) => `signing-key/${kid}`;
    return {
      load: () => (this.db.prepare('SELECT kid, created_at, retired_at, public_jwk, sealed_private FROM signing_keys ORDER BY created_at DESC').all() as
        { kid: string; created_at: number; retired_at: number | null; public_jwk: string; sealed_private: Uint8Array }[]).map((r): StoredSigningKey => ({
        kid: r.kid, createdAt: r.created_at, retiredAt: r.retired_at, publicJwk: JSON.parse(r.public_jwk) as JWK,
        privateJwk: JSON.parse(this.sealer.open(Buffer.from(r.sealed_private), ctx(r.kid)).toString('utf8')) as JWK,
      })),
      save: (k) => {
        this.db.prepare('INSERT OR REPLACE INTO signing_keys (kid, created_at, retired_at, public_jwk, sealed_private) VALUES (?, ?, ?, ?, ?)')
          .run(k.kid, k.createdAt, k.retiredAt, JSON.stringify(k.publicJwk), this.sealer.seal(Buffer.from(JSON.stringify(k.privateJwk)), ctx(k.kid)));
      },
      remove: (kid) => { this.db.prepare('DELETE FROM signing_keys WHERE kid = ?').run(kid); },
    };
  }

  /**
   * The version number of this vault.yaml text: the latest one again when the text is unchanged
   * (a restart, a touch), else the next number. Several processes may share the file (a gateway
   * reading vault:// and the vault server): the check and the insert are one transaction.
   */
  recordPolicyVersion(text: string, file: string, now = Date.now()): number {
    const hash = createHash('sha256').update(text).digest('hex');
    return this.tx(() => {
      const last = this.db.prepare('SELECT version, hash FROM policy_versions ORDER BY version DESC LIMIT 1').get() as { version: number; hash: string } | undefined;
      if (last && last.hash === hash) return last.version;
      const version = (last?.version ?? 0) + 1;
      this.db.prepare('INSERT INTO policy_versions (version, hash, loaded_at, file, text) VALUES (?, ?, ?, ?, ?)').run(version, hash, now, file, text);
      return version;
    });
  }

  /** A recorded vault.yaml text by its version, for explain and audits. */
  policyVersion(version: number): { version: number; loadedAt: number; file: string; text: string } | null {
    const r = this.db.prepare('SELECT version, loaded_at, file, text FROM policy_versions WHERE version = ?').get(version) as { version: number; loaded_at: number; file: string; text: string } | undefined;
    return r ? { version: r.version, loadedAt: r.loaded_at, file: r.file, text: r.text } : null;
  }

  close(): void {
    this.db.close();
  }
}
