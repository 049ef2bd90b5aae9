import { randomUUID } from 'node:crypto';
import type { CompiledVault } from './compile-settings.ts';
import type { Operation } from './operations.ts';
import type { SecretSealer } from './secret-crypto.ts';
import { deletedSecretBundle, deletedSecretItem, kvError, secretBundle, secretItem, type VaultView } from './shapes.ts';
import type { BackupVersion, SecretAttributes, VaultStore } from './store.ts';

export interface ApiAnswer {
  readonly status: number;
  readonly body: string | null;
  /** Key Vault's error code when status >= 400, for the audit record. */
  readonly errorCode?: string;
}

export interface ApiRequest {
  readonly op: Operation;
  readonly vault: CompiledVault;
  readonly view: VaultView;
  readonly query: URLSearchParams;
  readonly apiVersion: string;
  readonly pathname: string;
  readonly body: unknown;
  readonly now: number;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const MAX_VALUE_BYTES = 25 * 1024;
const BACKUP_CONTEXT = 'pinpoint-kv-secret-backup-v1';

const fail = (status: number, code: string, message: string, inner?: string): ApiAnswer => ({ status, body: kvError(code, message, inner), errorCode: inner ?? code });
const ok = (value: unknown, status = 200): ApiAnswer => ({ status, body: JSON.stringify(value) });

const notFound = (name: string): ApiAnswer => fail(404, 'SecretNotFound',
  `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
const deletedNotFound = (name: string): ApiAnswer => fail(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);

type Parsed<T> = { ok: true; value: T } | { ok: false; answer: ApiAnswer };
const bad = <T>(message: string): Parsed<T> => ({ ok: false, answer: fail(400, 'BadParameter', message) });

function asObject(body: unknown): Record<string, unknown> | null {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : null;
}

/** Validates attributes, contentType and tags as Key Vault does; undefined fields are left unchanged. */
function parseAttributes(o: Record<string, unknown>): Parsed<Partial<SecretAttributes>> {
  const out: { -readonly [K in keyof SecretAttributes]?: SecretAttributes[K] } = {};
  if (o.contentType !== undefined) {
    if (typeof o.contentType !== 'string' || o.contentType.length > 255) return bad('contentType must be a string of at most 255 characters.');
    out.contentType = o.contentType;
  }
  if (o.tags !== undefined && o.tags !== null) {
    const tags = asObject(o.tags);
    if (!tags || Object.keys(tags).length > 15 || !Object.entries(tags).every(([k, v]) => typeof v === 'string' && k.length <= 512 && v.length <= 256)) {
      return bad('tags must be an object of at most 15 string values (names up to 512, values up to 256 characters).');
    }
    out.tags = tags as Record<string, string>;
  }
  if (o.attributes !== undefined && o.attributes !== null) {
    const a = asObject(o.attributes);
    if (!a) return bad('attributes must be an object.');
    if (a.enabled !== undefined) {
      if (typeof a.enabled !== 'boolean') return bad('attributes.enabled must be a boolean.');
      out.enabled = a.enabled;
    }
    for (const k of ['nbf', 'exp'] as const) {
      if (a[k] === undefined) continue;
      if (a[k] !== null && (typeof a[k] !== 'number' || !Number.isInteger(a[k]))) return bad(`attributes.${k} must be a unix time in seconds.`);
      out[k] = a[k] as number | null;
    }
  }
  return { ok: true, value: out };
}

function page(req: ApiRequest): Parsed<{ limit: number; after: string }> {
  const raw = req.query.get('maxresults');
  let limit = 25;
  if (raw !== null) {
    limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 25) return bad(`Invalid maxresults '${raw}': it must be an integer from 1 to 25.`);
  }
  const token = req.query.get('$skiptoken');
  let after = '';
  if (token) {
    try { after = Buffer.from(token, 'base64url').toString('utf8'); } catch { return bad('Invalid $skiptoken.'); }
  }
  return { ok: true, value: { limit, after } };
}

function nextLink(req: ApiRequest, last: string, limit: number): string {
  // Written as Key Vault writes it ($skiptoken unencoded); base64url needs no escaping.
  return `${req.view.origin}${req.pathname.replace(/\/+$/, '')}?api-version=${encodeURIComponent(req.apiVersion)}&$skiptoken=${Buffer.from(last, 'utf8').toString('base64url')}&maxresults=${limit}`;
}

/** One page of a list answer: the store was asked for limit + 1 rows, so an extra row means a next page after the last shown. */
function listPage<T>(req: ApiRequest, rows: readonly T[], limit: number, item: (r: T) => unknown, cursor: (r: T) => string): ApiAnswer {
  const shown = rows.slice(0, limit);
  return ok({ value: shown.map(item), nextLink: rows.length > limit ? nextLink(req, cursor(shown.at(-1)!), limit) : null });
}

/** Runs one secrets operation against the store; the caller has already been authorized. */
export function runSecretsOperation(store: VaultStore, sealer: SecretSealer, req: ApiRequest): ApiAnswer {
  const { op, vault, view, now } = req;
  const v = vault.name;
  const name = op.secretName;
  if (name !== null && !NAME.test(name)) return fail(400, 'BadParameter', `The request URI contains an invalid name: ${name}. A secret name is 1-127 letters, digits and dashes.`);
  switch (op.name) {
    case 'SecretSet': {
      const o = asObject(req.body);
      if (!o) return fail(400, 'BadParameter', 'The request body must be a JSON object with a "value".');
      if (typeof o.value !== 'string') return fail(400, 'BadParameter', 'Property "value" is required and must be a string.');
      if (Buffer.byteLength(o.value) > MAX_VALUE_BYTES) return fail(400, 'BadParameter', `The secret value exceeds ${MAX_VALUE_BYTES} bytes.`);
      const attrs = parseAttributes(o);
      if (!attrs.ok) return attrs.answer;
      const a = attrs.value;
      const full: SecretAttributes = { enabled: a.enabled ?? true, nbf: a.nbf ?? null, exp: a.exp ?? null, contentType: a.contentType ?? null, tags: a.tags ?? null };
      const saved = store.setSecret(v, name!, randomUUID().replaceAll('-', ''), o.value, full, now);
      if (saved === 'deleted') return fail(409, 'Conflict', `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`, 'ObjectIsDeletedButRecoverable');
      return ok(secretBundle(saved, view, o.value));
    }
    case 'SecretGet': {
      const found = store.getWithValue(v, name!, op.version);
      if (!found) return op.version ? fail(404, 'SecretNotFound', `A secret with (name/id) ${name}/${op.version} was not found in this key vault.`) : notFound(name!);
      if (!found.version.enabled) return fail(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
      return ok(secretBundle(found.version, view, found.value()));
    }
    case 'SecretList': {
      const p = page(req);
      if (!p.ok) return p.answer;
      const rows = store.listSecrets(v, p.value.after, p.value.limit + 1);
      return listPage(req, rows, p.value.limit, (r) => secretItem(r, view, false), (r) => r.name);
    }
    case 'SecretListVersions': {
      const p = page(req);
      if (!p.ok) return p.answer;
      const afterSeq = p.value.after ? Number(p.value.after) || 0 : 0;
      if (store.nameState(v, name!) !== 'live') return notFound(name!);
      const rows = store.listVersions(v, name!, afterSeq, p.value.limit + 1);
      return listPage(req, rows, p.value.limit, (r) => secretItem(r, view, true), (r) => String(r.seq));
    }
    case 'SecretUpdate': {
      const o = asObject(req.body ?? {});
      if (!o) return fail(400, 'BadParameter', 'The request body must be a JSON object.');
      const attrs = parseAttributes(o);
      if (!attrs.ok) return attrs.answer;
      const s = store.updateVersion(v, name!, op.version, attrs.value, now);
      return s ? ok(secretBundle(s, view)) : notFound(op.version ? `${name}/${op.version}` : name!);
    }
    case 'SecretDelete': {
      const d = store.deleteSecret(v, name!, now, vault.recoverableDays);
      return d ? ok(deletedSecretBundle(d, view)) : notFound(name!);
    }
    case 'SecretGetDeleted': {
      const d = store.getDeleted(v, name!);
      return d ? ok(deletedSecretBundle(d, view)) : deletedNotFound(name!);
    }
    case 'SecretListDeleted': {
      const p = page(req);
      if (!p.ok) return p.answer;
      const rows = store.listDeleted(v, p.value.after, p.value.limit + 1);
      return listPage(req, rows, p.value.limit, (d) => deletedSecretItem(d, view), (d) => d.latest.name);
    }
    case 'SecretRecover': {
      const s = store.recover(v, name!);
      return s ? ok(secretBundle(s, view)) : deletedNotFound(name!);
    }
    case 'SecretPurge': {
      if (vault.definition.purgeProtection) {
        return fail(403, 'Forbidden', `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.`, 'PurgeProtected');
      }
      return store.purge(v, name!) ? { status: 204, body: null } : deletedNotFound(name!);
    }
    case 'SecretBackup': {
      const versions = store.backupVersions(v, name!);
      if (!versions) return notFound(name!);
      const blob = sealer.seal(Buffer.from(JSON.stringify({ format: 1, versions })), BACKUP_CONTEXT);
      return ok({ value: blob.toString('base64url') });
    }
    case 'SecretRestore': {
      const o = asObject(req.body);
      if (!o || typeof o.value !== 'string') return fail(400, 'BadParameter', 'Property "value" (the backup blob) is required.');
      let versions: BackupVersion[];
      try {
        const parsed = JSON.parse(sealer.open(Buffer.from(o.value, 'base64url'), BACKUP_CONTEXT).toString('utf8')) as { format: number; versions: BackupVersion[] };
        if (parsed.format !== 1 || !Array.isArray(parsed.versions) || parsed.versions.length === 0) throw new Error('bad format');
        versions = parsed.versions;
      } catch {
        return fail(400, 'BadParameter', 'Backup blob contains invalid or corrupt version.', 'BackupCorrupt');
      }
      const restored = store.restore(v, versions);
      if (restored === 'exists') return fail(409, 'Conflict', `Secret ${versions[0]!.name} already exists (or is soft-deleted) in vault ${v}; delete and purge it before restoring.`);
      return ok(secretBundle(restored, view));
    }
  }
}
