import { resolve } from 'node:path';
import type { Logger } from '../server/logger.ts';
import { VaultSecretSource } from '../vault/secret-source.ts';
import { openVaultReader, type OpenedVaultReader } from '../vault/vault-reader.ts';

/**
 * `pinpoint serve --vault-settings FILE --vault-identity [TENANT/]CLIENT_ID [--vault-data-dir DIR]`:
 * the vault:// secret source over the vault's own data. null when not asked for; 'failed'
 * (after saying why on stderr) when asked for and it cannot open.
 */
export function openServeVault(values: { 'vault-settings'?: string | undefined; 'vault-data-dir'?: string | undefined; 'vault-identity'?: string | undefined }, dataDir: string, logger: Logger): { source: VaultSecretSource; reader: OpenedVaultReader } | null | 'failed' {
  const settingsFile = values['vault-settings'];
  if (!settingsFile) {
    if (values['vault-identity'] || values['vault-data-dir']) { process.stderr.write('pinpoint: --vault-identity and --vault-data-dir need --vault-settings FILE\n'); return 'failed'; }
    return null;
  }
  const identity = values['vault-identity'];
  if (!identity) { process.stderr.write('pinpoint: --vault-settings needs --vault-identity CLIENT_ID or TENANT/CLIENT_ID (the app, in the vault settings, the gateway reads provider keys as)\n'); return 'failed'; }
  try {
    const reader = openVaultReader({ settingsFile: resolve(settingsFile), dataDir: resolve(values['vault-data-dir'] ?? dataDir), logger });
    return { source: new VaultSecretSource(identity, reader), reader };
  } catch (err) {
    process.stderr.write(`pinpoint: cannot open the vault for vault:// provider keys: ${(err as Error).message}\n`);
    return 'failed';
  }
}
