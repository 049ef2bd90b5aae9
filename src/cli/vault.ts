import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashClientSecret } from '../identity/apps.ts';
import { CallLogWriter } from '../log/call-log-writer.ts';
import { createLogger } from '../server/logger.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import { loadMasterKey, MasterKeyError } from '../vault/master-key.ts';
import { portOption, UsageError } from './serve.ts';

export const vaultUsage = `pinpoint vault serve --settings FILE [--data-dir DIR] [--port N] [--host ADDR] [--tls-cert FILE --tls-key FILE]
  The Key Vault-compatible secrets vault and its token service on one HTTPS listener (default port 8443).
  The master key comes from PINPOINT_VAULT_MASTER_KEY or PINPOINT_VAULT_MASTER_KEY_FILE; without --tls-cert a
  development CA and certificate are made in DIR/tls (trust DIR/tls/ca.pem). Refusals go to DIR/pinpoint.db (explain reads it).
pinpoint vault digest SECRET
  Prints the "sha256:..." digest of a client secret, for an app's clientSecrets in the vault settings.`;

export async function vaultCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'digest') {
    if (rest.length !== 1) throw new UsageError('digest takes exactly one argument, the client secret');
    process.stdout.write(`sha256:${hashClientSecret(rest[0]!)}\n`);
    return 0;
  }
  if (sub !== 'serve') throw new UsageError(`unknown vault command "${sub ?? ''}"`);
  const { values } = parseArgs({ args: rest, options: {
    settings: { type: 'string' }, 'data-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
    'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
  } });
  if (!values.settings) throw new UsageError('--settings FILE is required');
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
  const dataDir = resolve(values['data-dir'] ?? './.pinpoint');
  const logger = createLogger();
  let masterKey: Buffer;
  try {
    masterKey = loadMasterKey({});
  } catch (err) {
    if (err instanceof MasterKeyError) { process.stderr.write(`pinpoint vault: ${err.message}\n`); return 1; }
    throw err;
  }
  const port = portOption(values.port) ?? 8443;
  // Loaded on demand: the vault and the X.509 library are not paid for by the other verbs' startup.
  const [{ ensureDemoTls, VAULT_TLS_NAMES }, { startVaultServer }, { VaultSettingsError }, { VaultStoreError }] = await Promise.all([
    import('../tls/demo-ca.ts'), import('../vault/vault-server.ts'), import('../vault/settings.ts'), import('../vault/store.ts'),
  ]);
  const tls = values['tls-cert']
    ? { certPem: readFileSync(values['tls-cert'], 'utf8'), keyPem: readFileSync(values['tls-key']!, 'utf8') }
    : await ensureDemoTls(join(dataDir, 'tls'), VAULT_TLS_NAMES);
  const databaseFile = join(dataDir, 'pinpoint.db');
  openDatabase(databaseFile).close();
  const callLog = new CallLogWriter(databaseFile, { maxPending: 10_000, flushIntervalMs: 50, retentionHours: 24 * 7, onError: (m) => logger.error({ event: 'call_log_error' }, m) });
  try {
    const vault = await startVaultServer({
      settingsFile: resolve(values.settings), databaseFile: join(dataDir, 'vault.db'), auditFile: join(dataDir, 'vault-audit.log'),
      masterKey, tls, port, ...(values.host ? { host: values.host } : {}), callLog, logger,
    });
    process.stdout.write(`pinpoint vault listening on ${vault.url} (vaults: ${[...vault.current().vaults.keys()].join(', ')})\n`);
    const stop = () => { void Promise.all([vault.close(), callLog.close()]).then(() => process.exit(0)); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', () => { vault.reload(); });
    return 0;
  } catch (err) {
    await callLog.close();
    if (err instanceof VaultSettingsError) { process.stderr.write(`pinpoint vault: ${err.message}\n`); return 1; }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') { process.stderr.write(`pinpoint vault: port ${port} is in use; choose another with --port\n`); return 1; }
    if (err instanceof VaultStoreError) { process.stderr.write(`pinpoint vault: ${err.message}\n`); return 1; }
    throw err;
  }
}
