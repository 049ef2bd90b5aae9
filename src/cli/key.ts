import { parseArgs } from 'node:util';
import { mintApiKey, planRotation, rotationOverlap } from '../admin/keys.ts';
import { hashApiKey } from '../credentials/directory.ts';
import { ident, type Key } from '../tenancy/model.ts';
import { loadSnapshot } from '../tenancy/runtime.ts';
import { UsageError } from './serve.ts';
import { withStore } from './subscription.ts';

export const keyUsage = `pinpoint key create --consumer ID [--scopes "a b"] [--roles "r"] [--expires ISO] [--id ID] [--prefix pk_live] [--data-dir DIR]
pinpoint key rotate KEY_ID [--overlap SECONDS] [--expires ISO] [--id NEW_ID] [--data-dir DIR]
pinpoint key revoke KEY_ID --reason TEXT [--data-dir DIR]
pinpoint key list [--consumer ID] [--data-dir DIR]
  Keys in the data directory's state store (audited as actor "cli"; a running gateway enforces
  the change within a second). The secret of a created key is printed once and never stored.
pinpoint key new [--prefix pk_live] [--id ID] [--scopes "a b"]
pinpoint key hash KEY
  Make an API key and the YAML config entry that stores only its hash (no state store involved).`;

const cliActor = { id: 'cli', role: 'operator' } as const;
const words = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean);

export async function keyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    prefix: { type: 'string', default: 'pk_live' }, id: { type: 'string' }, scopes: { type: 'string', default: '' }, roles: { type: 'string' },
    consumer: { type: 'string' }, expires: { type: 'string' }, reason: { type: 'string' }, 'data-dir': { type: 'string' }, overlap: { type: 'string' },
  } });
  const [sub, arg] = positionals;
  // Written to the state store as given: held to the admin API's rule for ids.
  if (values.id !== undefined && !ident.safeParse(values.id).success) throw new UsageError(`--id must be letters, digits, _ . : - (at most 80), got "${values.id}"`);
  if (sub === 'hash' && arg) { process.stdout.write(`sha256:${hashApiKey(arg)}\n`); return 0; }
  if (sub === 'new') return printConfigEntry(values.prefix, values.id, words(values.scopes));
  if (sub === 'create') {
    if (!values.consumer) throw new UsageError('key create needs --consumer');
    if (values.expires !== undefined && Number.isNaN(Date.parse(values.expires))) throw new UsageError(`--expires must be an ISO date or time, got "${values.expires}"`);
    const consumerId = values.consumer;
    return (await withStore(values['data-dir'], false, async (store) => {
      const snap = await loadSnapshot(store);
      if (!snap.entities.consumer.has(consumerId)) { process.stderr.write(`pinpoint key: no consumer ${consumerId}\n`); return 1; }
      const { plain, publicPart } = mintApiKey(values.prefix);
      const id = values.id ?? `key_${publicPart}`;
      if (snap.entities.key.has(id)) { process.stderr.write(`pinpoint key: key ${id} already exists\n`); return 1; }
      const key: Key = {
        id, consumer: consumerId, hash: `sha256:${hashApiKey(plain)}`, prefix: plain.slice(0, values.prefix.length + 9),
        scopes: words(values.scopes), roles: words(values.roles), ...(values.expires ? { expiresAt: new Date(values.expires).toISOString() } : {}),
      };
      const info = await store.commit({ actor: cliActor, summary: `create key ${id} for ${consumerId}`, now: Date.now(), changes: [{ kind: 'key', id, before: null, after: key }] });
      process.stdout.write(`key ${id} for ${consumerId} (state v${info.version})\nsecret (shown once, store it now): ${plain}\n`);
      return 0;
    })) ?? 1;
  }
  if (sub === 'rotate') {
    if (!arg) throw new UsageError('key rotate needs a key id');
    const overlap = values.overlap === undefined ? rotationOverlap.defaultSeconds : Number(values.overlap);
    if (!Number.isInteger(overlap) || overlap < 0 || overlap > rotationOverlap.maxSeconds) throw new UsageError(`--overlap must be whole seconds from 0 to ${rotationOverlap.maxSeconds}, got "${values.overlap}"`);
    const newId = values.id;
    if (values.expires !== undefined && !(Date.parse(values.expires) > Date.now())) throw new UsageError(`--expires must be an ISO date or time in the future, got "${values.expires}"`);
    return (await withStore(values['data-dir'], false, async (store) => {
      const snap = await loadSnapshot(store);
      const old = snap.entities.key.get(arg);
      if (!old) { process.stderr.write(`pinpoint key: no key ${arg}\n`); return 1; }
      if (old.data.revokedAt) { process.stderr.write(`pinpoint key: ${arg} is revoked; create a new key instead (pinpoint key create --consumer ${old.data.consumer})\n`); return 1; }
      if (newId && snap.entities.key.has(newId)) { process.stderr.write(`pinpoint key: key ${newId} already exists\n`); return 1; }
      const { key, plain, changes } = planRotation(old, overlap, Date.now(), newId, values.expires);
      const info = await store.commit({ actor: cliActor, summary: `rotate key ${arg} -> ${key.id} (overlap ${overlap} s)`, now: Date.now(), changes });
      const oldEnd = (changes[1]!.after as Key).expiresAt!;
      process.stdout.write(`key ${key.id} replaces ${arg} for ${key.consumer} (state v${info.version}); ${arg} works until ${oldEnd}\nsecret (shown once, store it now): ${plain}\n`);
      return 0;
    })) ?? 1;
  }
  if (sub === 'revoke') {
    if (!arg || !values.reason) throw new UsageError('key revoke needs a key id and --reason');
    const reason = values.reason;
    return (await withStore(values['data-dir'], false, async (store) => {
      const k = (await loadSnapshot(store)).entities.key.get(arg);
      if (!k) { process.stderr.write(`pinpoint key: no key ${arg}\n`); return 1; }
      if (k.data.revokedAt) { process.stderr.write(`pinpoint key: ${arg} was already revoked at ${k.data.revokedAt}\n`); return 1; }
      const after = { ...k.data, revokedAt: new Date().toISOString(), revokedReason: reason };
      const info = await store.commit({ actor: cliActor, summary: `revoke key ${arg}`, now: Date.now(), changes: [{ kind: 'key', id: arg, before: k.data, after }] });
      process.stdout.write(`key ${arg} revoked (state v${info.version}); requests with it now get 401 credential_revoked\n`);
      return 0;
    })) ?? 1;
  }
  if (sub === 'list') {
    return (await withStore(values['data-dir'], true, async (store) => {
      for (const k of (await loadSnapshot(store)).entities.key.values()) {
        if (values.consumer && k.data.consumer !== values.consumer) continue;
        const state = k.data.revokedAt ? `revoked ${k.data.revokedAt}` : k.data.expiresAt ? `expires ${k.data.expiresAt}` : 'no expiry';
        process.stdout.write(`${k.id.padEnd(28)} ${k.data.consumer.padEnd(24)} ${(k.data.prefix ?? '').padEnd(18)} [${k.data.scopes.join(' ')}] ${state}\n`);
      }
      return 0;
    })) ?? 1;
  }
  process.stderr.write(`${keyUsage}\n`);
  return 2;
}

function printConfigEntry(prefix: string, idOption: string | undefined, scopes: string[]): number {
  const { plain, publicPart } = mintApiKey(prefix);
  const id = idOption ?? `key_${publicPart}`;
  process.stdout.write(`key (shown once, store it now): ${plain}\n\nconfig entry (under a consumer's keys:):\n`
    + `  - id: ${id}\n    hash: sha256:${hashApiKey(plain)}\n    prefix: ${plain.slice(0, prefix.length + 9)}\n    scopes: [${scopes.join(', ')}]\n`);
  return 0;
}
