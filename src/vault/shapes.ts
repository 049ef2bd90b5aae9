import type { DeletedSecret, SecretVersion } from './store.ts';

// The JSON shapes of the Key Vault secrets REST API (api-version 7.x): times are unix seconds,
// ids are rooted at the vault's host, optional fields are omitted rather than null.

export interface VaultView {
  /** https://<host>, exactly as the client addressed the vault. */
  readonly origin: string;
  readonly recoveryLevel: string;
  readonly recoverableDays: number;
}

function attributes(v: SecretVersion, view: VaultView): Record<string, unknown> {
  const a: Record<string, unknown> = { enabled: v.enabled };
  if (v.nbf !== null) a.nbf = v.nbf;
  if (v.exp !== null) a.exp = v.exp;
  a.created = v.created;
  a.updated = v.updated;
  a.recoveryLevel = view.recoveryLevel;
  a.recoverableDays = view.recoverableDays;
  return a;
}

const common = (v: SecretVersion, view: VaultView, id: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  if (v.contentType !== null) out.contentType = v.contentType;
  out.id = id;
  out.attributes = attributes(v, view);
  if (v.tags) out.tags = v.tags;
  return out;
};

export const secretId = (view: VaultView, v: SecretVersion) => `${view.origin}/secrets/${v.name}/${v.version}`;

/** SecretBundle; `value` only for get and set. */
export function secretBundle(v: SecretVersion, view: VaultView, value?: string): Record<string, unknown> {
  const body = common(v, view, secretId(view, v));
  return value === undefined ? body : { value, ...body };
}

/** SecretItem in list answers: the id names the secret (list) or the version (list versions). */
export function secretItem(v: SecretVersion, view: VaultView, withVersion: boolean): Record<string, unknown> {
  return common(v, view, withVersion ? secretId(view, v) : `${view.origin}/secrets/${v.name}`);
}

export function deletedSecretBundle(d: DeletedSecret, view: VaultView): Record<string, unknown> {
  return { recoveryId: `${view.origin}/deletedsecrets/${d.latest.name}`, deletedDate: d.deletedAt, scheduledPurgeDate: d.purgeAt, ...common(d.latest, view, secretId(view, d.latest)) };
}

export function deletedSecretItem(d: DeletedSecret, view: VaultView): Record<string, unknown> {
  return { recoveryId: `${view.origin}/deletedsecrets/${d.latest.name}`, deletedDate: d.deletedAt, scheduledPurgeDate: d.purgeAt, ...common(d.latest, view, `${view.origin}/secrets/${d.latest.name}`) };
}

/** Key Vault's error body: {"error":{"code","message","innererror"?}}. */
export function kvError(code: string, message: string, inner?: string): string {
  return JSON.stringify({ error: inner ? { code, message, innererror: { code: inner } } : { code, message } });
}
