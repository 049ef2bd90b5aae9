import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { hashApiKey } from '../credentials/directory.ts';

export const keyUsage = `pinpoint key new [--prefix pk_live] [--id ID] [--scopes "a b"]
pinpoint key hash KEY
  Make an API key and the config entry that stores only its hash.`;

export async function keyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { prefix: { type: 'string', default: 'pk_live' }, id: { type: 'string' }, scopes: { type: 'string', default: '' } } });
  const [sub, arg] = positionals;
  if (sub === 'hash' && arg) { process.stdout.write(`sha256:${hashApiKey(arg)}\n`); return 0; }
  if (sub !== 'new') { process.stderr.write(`${keyUsage}\n`); return 2; }
  // 24 random bytes: 192 bits, so a fast hash (sha256) is enough to store it safely.
  const publicPart = randomBytes(4).toString('hex');
  const key = `${values.prefix}_${publicPart}_${randomBytes(24).toString('base64url')}`;
  const id = values.id ?? `key_${publicPart}`;
  const scopes = values.scopes.split(' ').filter(Boolean);
  process.stdout.write(`key (shown once, store it now): ${key}\n\nconfig entry (under a consumer's keys:):\n`
    + `  - id: ${id}\n    hash: sha256:${hashApiKey(key)}\n    prefix: ${key.slice(0, values.prefix.length + 9)}\n    scopes: [${scopes.join(', ')}]\n`);
  return 0;
}
