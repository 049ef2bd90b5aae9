import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashApiKey } from '../credentials/directory.ts';
import { ident, type Key } from '../tenancy/model.ts';
import type { Change } from '../tenancy/state.ts';
import { assertCanWrite, canRead } from './auth.ts';
import { commit, getVisible, itemResponse, listResponse, out, outSchemas, stateOf, stateVersion, validate } from './entities.ts';
import { AdminError } from './http.ts';
import type { AdminCall, AdminRoute } from './router.ts';

// API keys: the secret exists only in the answer to its creation (or rotation); the store
// keeps its sha256. Rotation issues a new key and lets the old one live on for an overlap.

const isoTime = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const newKeyRequest = z.strictObject({
  id: ident.optional(),
  /** Public beginning of the key, e.g. pk_live. */
  prefix: z.string().regex(/^[a-z][a-z0-9_]{1,15}$/, 'lower-case letters, digits and _ (2-16)').default('pk_live'),
  scopes: z.array(z.string().min(1)).default([]),
  roles: z.array(z.string().min(1)).default([]),
  notBefore: isoTime.optional(),
  expiresAt: isoTime.optional(),
});

/** How long a rotated key keeps working beside its replacement, in seconds (the admin API's and the CLI's bounds). */
export const rotationOverlap = { defaultSeconds: 86400, maxSeconds: 90 * 86400 } as const;

export const rotateRequest = z.strictObject({
  /** How long the old key keeps working, in seconds (default one day; 0 ends it now). */
  overlapSeconds: z.number().int().min(0).max(rotationOverlap.maxSeconds).default(rotationOverlap.defaultSeconds),
  id: ident.optional(),
  /** When the new key expires; without it the new key has no expiry (the access audit lists such keys). */
  expiresAt: isoTime.refine((t) => Date.parse(t) > Date.now(), 'a time in the future').optional(),
});

export const revokeRequest = z.strictObject({ reason: z.string().min(1).max(500) });

const secretResponse = z.object({
  item: outSchemas.key,
  /** The plain key: shown once, never stored. */
  secret: z.string(),
  stateVersion: z.number().int(),
  replaces: outSchemas.key.optional(),
});

/** A new API key: a public part (its id and prefix) and 192 random bits. Shared with the CLI. */
export function mintApiKey(prefix: string): { plain: string; publicPart: string } {
  // 24 random bytes: 192 bits, so a fast hash (sha256) is enough to store it safely.
  const publicPart = randomBytes(4).toString('hex');
  return { plain: `${prefix}_${publicPart}_${randomBytes(24).toString('base64url')}`, publicPart };
}

/**
 * A rotation of `old`: a new key with its consumer, scopes and roles (and its notBefore, if
 * still ahead), expiring at `expiresAt` if given, and the old one ending after the overlap (or
 * at its own expiry if sooner), marked as replaced. Shared with the CLI.
 */
export function planRotation(old: { readonly id: string; readonly data: Key }, overlapSeconds: number, now: number, newId?: string, expiresAt?: string): { key: Key; plain: string; changes: Change[] } {
  const prefix = /^([a-z][a-z0-9_]*?)_[0-9a-f]{8}/.exec(old.data.prefix ?? '')?.[1] ?? 'pk_live';
  const { plain, publicPart } = mintApiKey(prefix);
  const notBefore = old.data.notBefore && Date.parse(old.data.notBefore) > now ? old.data.notBefore : undefined;
  const key: Key = {
    id: newId ?? `key_${publicPart}`, consumer: old.data.consumer, hash: `sha256:${hashApiKey(plain)}`, prefix: plain.slice(0, prefix.length + 9),
    scopes: old.data.scopes, roles: old.data.roles,
    ...(notBefore ? { notBefore } : {}), ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
  };
  const end = new Date(now + overlapSeconds * 1000).toISOString();
  const oldEnd = old.data.expiresAt && Date.parse(old.data.expiresAt) < Date.parse(end) ? old.data.expiresAt : end;
  return {
    key, plain,
    changes: [
      { kind: 'key', id: key.id, before: null, after: key },
      { kind: 'key', id: old.id, before: old.data, after: { ...old.data, expiresAt: oldEnd, replacedBy: key.id } },
    ],
  };
}

function newKey(call: AdminCall, consumer: string, req: z.infer<typeof newKeyRequest>): { key: Key; plain: string } {
  const { plain, publicPart } = mintApiKey(req.prefix);
  const id = req.id ?? `key_${publicPart}`;
  if (stateOf(call).key.has(id)) throw new AdminError('admin_conflict', `key ${id} already exists.`, [{ path: '/id', message: 'already taken' }]);
  const key: Key = {
    id, consumer, hash: `sha256:${hashApiKey(plain)}`, prefix: plain.slice(0, req.prefix.length + 9), scopes: req.scopes, roles: req.roles,
    ...(req.notBefore ? { notBefore: req.notBefore } : {}), ...(req.expiresAt ? { expiresAt: req.expiresAt } : {}),
  };
  return { key, plain };
}

export function keyRoutes(): AdminRoute[] {
  const tag = 'keys';
  return [
    {
      method: 'GET', path: '/v1/consumers/{id}/keys', summary: 'List the keys of a consumer (never their secrets or hashes)', tag, status: 200, response: listResponse('key'),
      handle(call) {
        const c = getVisible(call, 'consumer', call.params.id!);
        const items = [...stateOf(call).key.values()].filter((k) => k.data.consumer === c.id);
        return { status: 200, body: { items: items.map(out), stateVersion: stateVersion(call) } };
      },
    },
    {
      method: 'POST', path: '/v1/consumers/{id}/keys', summary: 'Create a key; the answer holds the secret, shown this once', tag, status: 201, request: newKeyRequest, response: secretResponse,
      async handle(call) {
        const c = getVisible(call, 'consumer', call.params.id!);
        assertCanWrite(call.principal, c.tenant);
        const req = validate(newKeyRequest, call.body ?? {});
        const { key, plain } = newKey(call, c.id, req);
        const info = await commit(call, `create key ${key.id} for ${c.id}`, [{ kind: 'key', id: key.id, before: null, after: key }]);
        return { status: 201, body: { item: out(getVisible(call, 'key', key.id)), secret: plain, stateVersion: info.version } };
      },
    },
    {
      method: 'GET', path: '/v1/keys/{id}', summary: 'Read a key (without its hash)', tag, status: 200, response: itemResponse('key'),
      handle(call) { return { status: 200, body: { item: out(getVisible(call, 'key', call.params.id!)), stateVersion: stateVersion(call) } }; },
    },
    {
      method: 'POST', path: '/v1/keys/{id}/rotate', summary: 'Issue a replacement key; the old one keeps working for overlapSeconds, then expires', tag, status: 201, request: rotateRequest, response: secretResponse,
      async handle(call) {
        const old = getVisible(call, 'key', call.params.id!);
        assertCanWrite(call.principal, old.tenant);
        const req = validate(rotateRequest, call.body ?? {});
        if (old.data.revokedAt) throw new AdminError('admin_conflict', `key ${old.id} is revoked; create a new key instead.`);
        if (req.id && stateOf(call).key.has(req.id)) throw new AdminError('admin_conflict', `key ${req.id} already exists.`, [{ path: '/id', message: 'already taken' }]);
        const { key, plain, changes } = planRotation(old, req.overlapSeconds, Date.now(), req.id, req.expiresAt);
        const info = await commit(call, `rotate key ${old.id} -> ${key.id} (overlap ${req.overlapSeconds} s)`, changes);
        return { status: 201, body: { item: out(getVisible(call, 'key', key.id)), secret: plain, stateVersion: info.version, replaces: out(getVisible(call, 'key', old.id)) } };
      },
    },
    {
      method: 'POST', path: '/v1/keys/{id}/revoke', summary: 'Revoke a key now, with a reason (explain shows it)', tag, status: 200, request: revokeRequest, response: itemResponse('key'),
      async handle(call) {
        const k = getVisible(call, 'key', call.params.id!);
        assertCanWrite(call.principal, k.tenant);
        const req = validate(revokeRequest, call.body);
        const info = await commit(call, `revoke key ${k.id}`, [{ kind: 'key', id: k.id, before: k.data, after: { ...k.data, revokedAt: new Date().toISOString(), revokedReason: req.reason } }]);
        return { status: 200, body: { item: out(getVisible(call, 'key', k.id)), stateVersion: info.version } };
      },
    },
    {
      method: 'DELETE', path: '/v1/keys/{id}', summary: 'Delete a key (prefer revoke: a revoked key is explained, a deleted one is unknown)', tag, status: 200, response: z.object({ deleted: z.string(), stateVersion: z.number().int() }),
      async handle(call) {
        const k = getVisible(call, 'key', call.params.id!);
        assertCanWrite(call.principal, k.tenant);
        const info = await commit(call, `delete key ${k.id}`, [{ kind: 'key', id: k.id, before: k.data, after: null }]);
        return { status: 200, body: { deleted: k.id, stateVersion: info.version } };
      },
    },
  ];
}

export { canRead };
