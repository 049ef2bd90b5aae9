import { AppDirectory, type AppRegistration } from '../identity/apps.ts';
import { issuerFor } from '../identity/token-service.ts';
import { CidrSet } from '../net/cidr-set.ts';
import type { SecretPermission, VaultDefinition, VaultSettings } from './settings.ts';
import { VaultSettingsError } from './settings.ts';

export interface CompiledPolicy {
  readonly objectId: string;
  readonly index: number;
  readonly permissions: ReadonlySet<SecretPermission>;
}

export interface CompiledVault {
  readonly name: string;
  readonly tenant: string;
  readonly definition: VaultDefinition;
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  readonly firewallRules: CidrSet;
  readonly issuers: ReadonlySet<string>;
  /** Key Vault's names for the soft-delete setup, shown in every attributes object. */
  readonly recoveryLevel: string;
  readonly recoverableDays: number;
}

export interface CompiledVaultSettings {
  /** Bumped on every successful reload: traces and explain say which version decided. */
  readonly version: number;
  readonly loadedAt: number;
  readonly settings: VaultSettings;
  readonly apps: AppDirectory;
  readonly vaults: ReadonlyMap<string, CompiledVault>;
  readonly defaultVault: CompiledVault;
  readonly resources: ReadonlySet<string>;
  readonly authorityHosts: readonly string[];
}

/** Indexes everything a request needs (policies by object id, CIDR tries, issuers) once per load. */
export function compileVaultSettings(settings: VaultSettings, version: number, authorityHosts: readonly string[]): CompiledVaultSettings {
  const apps: AppRegistration[] = settings.apps.map((a) => ({
    clientId: a.clientId, tenant: a.tenant, displayName: a.displayName ?? a.clientId, objectId: a.objectId,
    secretHashes: a.clientSecrets.map((h) => h.slice('sha256:'.length)), assertionKeysPem: a.assertionKeys, trustedService: a.trustedService,
  }));
  const vaults = new Map<string, CompiledVault>();
  for (const v of settings.vaults) {
    let rules: CidrSet;
    try {
      rules = new CidrSet(v.firewall.ipRules);
    } catch (err) {
      throw new VaultSettingsError(`vault "${v.name}": firewall.ipRules: ${(err as Error).message}`);
    }
    const policies = new Map<string, CompiledPolicy>();
    v.accessPolicies.forEach((p, index) => {
      const existing = policies.get(p.objectId);
      const permissions = new Set<SecretPermission>([...(existing?.permissions ?? []), ...p.secrets]);
      policies.set(p.objectId, { objectId: p.objectId, index: existing?.index ?? index, permissions });
    });
    const days = v.softDeleteRetentionDays;
    const recoveryLevel = `${days < 90 ? 'CustomizedRecoverable' : 'Recoverable'}${v.purgeProtection ? '' : '+Purgeable'}`;
    vaults.set(v.name, {
      name: v.name, tenant: v.tenant, definition: v, policies, firewallRules: rules,
      issuers: new Set(authorityHosts.map((h) => issuerFor(h, v.tenant))), recoveryLevel, recoverableDays: days,
    });
  }
  const defaultVault = vaults.get(settings.defaultVault ?? settings.vaults[0]!.name)!;
  const resources = new Set([settings.resource.replace(/\/$/, ''), ...settings.tokenService.extraResources.map((r) => r.replace(/\/$/, ''))]);
  return { version, loadedAt: Date.now(), settings, apps: new AppDirectory(apps, settings.tokenService.tenants), vaults, defaultVault, resources, authorityHosts };
}

/**
 * The vault a Host header addresses: `<name>.vault.localhost`, one of a vault's extra hosts,
 * or the default vault for 127.0.0.1 / localhost. Key Vault clients need the vault at the
 * root of its host, so a path prefix cannot choose it.
 */
export function vaultForHost(c: CompiledVaultSettings, hostHeader: string | undefined): CompiledVault | null {
  const host = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === 'vault.localhost') return c.defaultVault;
  const m = /^([a-z0-9-]+)\.vault\.localhost$/.exec(host);
  if (m) return c.vaults.get(m[1]!) ?? null;
  for (const v of c.vaults.values()) if (v.definition.hosts.includes(host)) return v;
  return null;
}
