import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export class MasterKeyError extends Error {}

const decode = (text: string, where: string): Buffer => {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new MasterKeyError(`${where}: the vault master key must be 32 bytes, as 64 hex digits or base64 (got ${key.length} bytes)`);
  return key;
};

/**
 * The key that wraps every data key. It comes from the environment or a file and is never
 * written to the database, so a copy of the database alone reveals no secret.
 */
export function loadMasterKey(options: { env?: NodeJS.ProcessEnv; file?: string | undefined; createIfMissing?: boolean }): Buffer {
  const env = options.env ?? process.env;
  const fromEnv = env.PINPOINT_VAULT_MASTER_KEY;
  if (fromEnv) return decode(fromEnv, 'PINPOINT_VAULT_MASTER_KEY');
  const file = options.file ?? env.PINPOINT_VAULT_MASTER_KEY_FILE;
  if (!file) throw new MasterKeyError('no vault master key: set PINPOINT_VAULT_MASTER_KEY or PINPOINT_VAULT_MASTER_KEY_FILE');
  if (!existsSync(file)) {
    if (!options.createIfMissing) throw new MasterKeyError(`vault master key file ${file} does not exist`);
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return decode(readFileSync(file, 'utf8'), file);
}
