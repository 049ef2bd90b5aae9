import { join } from 'node:path';
import { watchConfigFile } from '../config/watch.ts';
import type { Logger } from '../server/logger.ts';
import { VaultAuditLog } from './audit.ts';
import { compileVaultSettings, type CompiledVaultSettings } from './compile-settings.ts';
import { loadMasterKey } from './master-key.ts';
import { SecretSealer } from './secret-crypto.ts';
import type { VaultReader } from './secret-source.ts';
import { readVaultSettingsFile } from './settings.ts';
import { VaultStore } from './store.ts';

export interface OpenedVaultReader extends VaultReader { close(): Promise<void> }

/**
 * The vault's data for a gateway that does not serve the vault itself (`pinpoint serve
 * --vault-settings`): the same vault.db (SQLite WAL, so a `pinpoint vault serve` may write it
 * meanwhile), the master key from the environment, and vault.yaml, reloaded when it changes
 * so a policy edit applies to the gateway's next read.
 */
export function openVaultReader(options: { settingsFile: string; dataDir: string; logger: Logger; watch?: boolean }): OpenedVaultReader {
  const masterKey = loadMasterKey({});
  const store = new VaultStore(join(options.dataDir, 'vault.db'), new SecretSealer(masterKey));
  const audit = new VaultAuditLog(join(options.dataDir, 'vault-audit.log'));
  // The same numbering as the vault server's: both record the text in vault.db.
  const load = (): CompiledVaultSettings => {
    const read = readVaultSettingsFile(options.settingsFile);
    const compiled = compileVaultSettings(read.settings, 0, []);
    return { ...compiled, version: store.recordPolicyVersion(read.text, options.settingsFile) };
  };
  let live: CompiledVaultSettings = load();
  const stop = options.watch === false ? () => undefined : watchConfigFile(options.settingsFile, () => {
    try {
      live = load();
      options.logger.info({ event: 'vault_settings_reloaded', policyVersion: live.version }, `vault settings v${live.version} loaded (gateway's vault:// reads)`);
    } catch (err) {
      options.logger.error({ event: 'vault_settings_rejected', err: (err as Error).message }, 'vault settings rejected; the previous version stays in force');
    }
  });
  return {
    store, audit, settings: () => live,
    async close() { stop(); await audit.close(); store.close(); },
  };
}
