import { SecretUnavailable, type SecretSource } from '../ai/secrets.ts';
import { newRequestId } from '../log/request-id.ts';
import type { VaultAuditLog } from './audit.ts';
import type { CompiledVaultSettings } from './compile-settings.ts';
import type { VaultStore } from './store.ts';

// `vault://<vault>/<secret>` for the AI gateway's provider keys, read in process through the
// vault's own store (values sealed with the master key) under the vault's access policies:
// the gateway reads as an app registered in vault.yaml and needs secrets `get` on the vault,
// so a policy change can take the key away. The network checks (token, firewall, throttle)
// do not apply to a read that never leaves the process. Never logs or audits a value.

/** What the source reads: the vault's live settings (reloaded on change), its store and audit log. */
export interface VaultReader {
  settings(): CompiledVaultSettings;
  readonly store: VaultStore;
  readonly audit: VaultAuditLog | null;
}

export class VaultSecretSource implements SecretSource {
  readonly scheme = 'vault';
  readonly #clientId: string;
  readonly #tenant: string | null;
  #reader: VaultReader | null;

  /**
   * `identity`: the app (in vault.yaml) the gateway reads as, `CLIENT_ID` or `TENANT/CLIENT_ID`
   * (needed when the client id is registered in several tenants); `reader` may come later (attach).
   */
  constructor(identity: string, reader: VaultReader | null = null) {
    const slash = identity.indexOf('/');
    this.#tenant = slash === -1 ? null : identity.slice(0, slash);
    this.#clientId = slash === -1 ? identity : identity.slice(slash + 1);
    this.#reader = reader;
  }

  get identity(): string { return this.#tenant === null ? this.#clientId : `${this.#tenant}/${this.#clientId}`; }

  /** The demo starts the vault after the gateway: reads before this are refused, not queued. */
  attach(reader: VaultReader): void { this.#reader = reader; }

  get clientId(): string { return this.#clientId; }

  resolve(reference: string): Promise<string> {
    try {
      return Promise.resolve(this.#read(reference));
    } catch (err) {
      return Promise.reject(err instanceof SecretUnavailable ? err : new SecretUnavailable(reference, `the vault could not read it: ${(err as Error).message}`));
    }
  }

  #read(reference: string): string {
    const m = /^vault:\/\/([^/]+)\/([^/]+)$/.exec(reference);
    if (!m) throw new SecretUnavailable(reference, 'not of the form vault://<vault>/<secret>');
    const [, vaultName, secretName] = m as unknown as [string, string, string];
    const reader = this.#reader;
    if (!reader) throw new SecretUnavailable(reference, 'the vault is not running in this process yet');
    const settings = reader.settings();
    const vault = settings.vaults.get(vaultName);
    const refuse = (reason: string, why: string, withName = false): never => {
      this.#audit(reader, settings, vaultName, identity, 'denied', 403, reason, withName ? secretName : undefined);
      throw new SecretUnavailable(reference, why);
    };
    const candidates = this.#tenant === null ? settings.apps.withClientId(this.#clientId) : [settings.apps.find(this.#tenant, this.#clientId)].filter((a) => a !== null);
    // A client id is unique only within a tenant: reading as whichever app came first could
    // borrow another tenant's access, so an ambiguous identity reads nothing.
    const app = candidates.length === 1 ? candidates[0]! : null;
    const identity = app ? { appid: app.clientId, oid: app.objectId, tid: app.tenant } : null;
    if (!vault) return refuse('VaultNotFound', `vault '${vaultName}' does not exist (vaults: ${[...settings.vaults.keys()].join(', ')})`);
    if (candidates.length > 1) {
      return refuse('vault_no_access_policy', `the gateway's vault identity '${this.#clientId}' names an app in several tenants (${candidates.map((a) => a.tenant).join(', ')}); give it as <tenant>/${this.#clientId} (policy version v${settings.version})`);
    }
    if (!app) return refuse('vault_no_access_policy', `the gateway's vault identity '${this.identity}' is not an app in the vault settings (policy version v${settings.version})`);
    const who = `'${app.clientId}'`;
    // Over HTTP a token is accepted only from the vault's own tenant (its issuer); an app of
    // another tenant with the same object id must not read through this in-process path either.
    if (app.tenant !== vault.tenant) return refuse('vault_no_access_policy', `the gateway's identity ${who} is an app of tenant ${app.tenant}; vault '${vaultName}' belongs to tenant ${vault.tenant} (policy version v${settings.version})`);
    const policy = vault.policies.get(app.objectId);
    if (!policy) return refuse('vault_no_access_policy', `vault '${vaultName}' has no access policy for the gateway's identity ${who} (vault_no_access_policy, policy version v${settings.version}); give it secrets get in vault.yaml`);
    if (!policy.permissions.has('get')) return refuse('vault_permission_missing', `the gateway's identity ${who} lacks secrets get on vault '${vaultName}' (vault_permission_missing; granted: ${[...policy.permissions].join(', ') || 'none'}; policy version v${settings.version})`);
    const now = Math.floor(Date.now() / 1000);
    const found = reader.store.getWithValue(vaultName, secretName, null);
    const fail = (code: string, why: string): never => {
      this.#audit(reader, settings, vaultName, identity, 'failed', code === 'SecretNotFound' ? 404 : 403, code, secretName);
      throw new SecretUnavailable(reference, why);
    };
    if (!found) return fail('SecretNotFound', `secret '${secretName}' does not exist in vault '${vaultName}' (or is deleted)`);
    const v = found.version;
    if (!v.enabled) return fail('SecretDisabled', `secret '${secretName}' in vault '${vaultName}' is disabled (version ${v.version})`);
    if (v.nbf !== null && now < v.nbf) return fail('SecretNotYetValid', `secret '${secretName}' in vault '${vaultName}' is not valid before ${new Date(v.nbf * 1000).toISOString()}`);
    if (v.exp !== null && now >= v.exp) return fail('SecretExpired', `secret '${secretName}' in vault '${vaultName}' expired at ${new Date(v.exp * 1000).toISOString()}`);
    const value = found.value();
    this.#audit(reader, settings, vaultName, identity, 'success', 200, null, secretName);
    return value;
  }

  #audit(reader: VaultReader, settings: CompiledVaultSettings, vault: string, identity: { appid: string; oid: string; tid: string } | null,
    result: 'success' | 'denied' | 'failed', status: number, reason: string | null, secretName?: string): void {
    reader.audit?.write({
      ts: new Date().toISOString(), requestId: newRequestId(), vault, operation: 'GetSecret', identity, clientIp: 'in-process',
      result, status, durationMs: 0, reason, ...(secretName ? { secretName } : {}), policyVersion: settings.version,
    });
  }
}
