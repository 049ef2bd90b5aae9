import type { VaultAuditRecord } from './audit.ts';
import type { CompiledVault, CompiledVaultSettings } from './compile-settings.ts';
import type { VaultReader } from './secret-source.ts';
import { secretPermissions } from './settings.ts';

// What the admin API shows of a vault: its settings (policies per app, firewall, throttle,
// soft delete), its secrets' names and version counts, and recent audit records. Built only
// from settings, version metadata and audit records: no code path here can open a sealed
// value, so no answer can carry one.

export interface VaultSummary {
  readonly name: string;
  readonly directoryTenant: string;
  readonly adminTenant: string | null;
  readonly hosts: readonly string[];
  readonly accessPolicies: number;
  readonly secrets: number;
  readonly deletedSecrets: number;
  readonly firewall: { readonly defaultAction: string; readonly ipRules: readonly string[]; readonly bypass: string };
  readonly policyVersion: number;
}

export interface VaultPolicyView {
  readonly objectId: string;
  /** The app (client id) holding this object id in the vault settings, or null if none does. */
  readonly app: string | null;
  readonly displayName: string | null;
  readonly permissions: readonly string[];
}

export interface VaultSecretView {
  readonly name: string;
  readonly versions: number;
  readonly enabled: boolean;
  readonly contentType: string | null;
  readonly created: number;
  readonly updated: number;
  readonly notBefore: number | null;
  readonly expires: number | null;
  readonly deletedAt: number | null;
  readonly purgeAt: number | null;
}

export interface VaultAuditView {
  readonly ts: string;
  readonly requestId: string;
  readonly operation: string;
  readonly app: string | null;
  readonly clientIp: string;
  readonly result: string;
  readonly status: number;
  readonly reason: string | null;
  readonly secretName: string | null;
  readonly policyVersion: number;
}

export interface VaultDetail extends VaultSummary {
  readonly policies: readonly VaultPolicyView[];
  readonly throttle: { readonly read: { readonly requests: number; readonly windowSeconds: number }; readonly write: { readonly requests: number; readonly windowSeconds: number } };
  readonly softDelete: { readonly retentionDays: number; readonly purgeProtection: boolean; readonly recoveryLevel: string };
  readonly secretList: readonly VaultSecretView[];
  readonly audit: readonly VaultAuditView[];
}

function summary(reader: VaultReader, c: CompiledVaultSettings, v: CompiledVault): VaultSummary {
  const inventory = reader.store.inventory(v.name);
  const fw = v.definition.firewall;
  return {
    name: v.name, directoryTenant: v.tenant, adminTenant: v.definition.adminTenant ?? null, hosts: [`${v.name}.vault.localhost`, ...v.definition.hosts],
    accessPolicies: v.policies.size, secrets: inventory.filter((s) => s.deletedAt === null).length, deletedSecrets: inventory.filter((s) => s.deletedAt !== null).length,
    firewall: { defaultAction: fw.defaultAction, ipRules: [...fw.ipRules], bypass: fw.bypass }, policyVersion: c.version,
  };
}

const auditView = (r: VaultAuditRecord): VaultAuditView => ({
  ts: r.ts, requestId: r.requestId, operation: r.operation, app: r.identity?.appid ?? null, clientIp: r.clientIp,
  result: r.result, status: r.status, reason: r.reason, secretName: r.secretName ?? null, policyVersion: r.policyVersion,
});

/** Every vault the filter admits, by name. */
export function listVaults(reader: VaultReader, visible: (v: CompiledVault) => boolean): VaultSummary[] {
  const c = reader.settings();
  return [...c.vaults.values()].filter(visible).sort((a, b) => a.name.localeCompare(b.name)).map((v) => summary(reader, c, v));
}

export function describeVault(reader: VaultReader, name: string, auditLimit: number): { vault: CompiledVault; detail: VaultDetail } | null {
  const c = reader.settings();
  const v = c.vaults.get(name);
  if (!v) return null;
  const apps = new Map(c.apps.all().map((a) => [a.objectId, a]));
  const policies = [...v.policies.values()].sort((a, b) => a.index - b.index).map((p) => {
    const app = apps.get(p.objectId);
    return { objectId: p.objectId, app: app?.clientId ?? null, displayName: app?.displayName ?? null, permissions: secretPermissions.filter((x) => p.permissions.has(x)) };
  });
  const secretList = reader.store.inventory(v.name).map((s) => ({
    name: s.latest.name, versions: s.versions, enabled: s.latest.enabled, contentType: s.latest.contentType, created: s.latest.created, updated: s.latest.updated,
    notBefore: s.latest.nbf, expires: s.latest.exp, deletedAt: s.deletedAt, purgeAt: s.purgeAt,
  }));
  const d = v.definition;
  return {
    vault: v,
    detail: {
      ...summary(reader, c, v), policies,
      throttle: { read: { ...d.throttle.read }, write: { ...d.throttle.write } },
      softDelete: { retentionDays: d.softDeleteRetentionDays, purgeProtection: d.purgeProtection, recoveryLevel: v.recoveryLevel },
      secretList, audit: (reader.audit?.recent(auditLimit, v.name) ?? []).map(auditView),
    },
  };
}
