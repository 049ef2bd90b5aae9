import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hashApiKey } from '../credentials/directory.ts';
import type { AdminToken } from './config.ts';
import { AdminError } from './http.ts';

export interface AdminPrincipal {
  readonly id: string;
  readonly role: AdminToken['role'];
  /** Set for tenant admins: the only tenant they may see or change. */
  readonly tenant: string | null;
}

/** Admin tokens by the sha256 of the token: one hash and one lookup per call. */
export function indexTokens(tokens: readonly AdminToken[]): ReadonlyMap<string, AdminPrincipal> {
  return new Map(tokens.map((t) => [t.hash.slice('sha256:'.length), { id: t.id, role: t.role, tenant: t.role === 'tenant-admin' ? t.tenant ?? null : null }]));
}

export function authenticateAdmin(req: IncomingMessage, tokens: ReadonlyMap<string, AdminPrincipal>): AdminPrincipal {
  const auth = req.headers.authorization;
  if (!auth) throw new AdminError('admin_unauthenticated', 'No admin token: send Authorization: Bearer <admin token>.');
  const [scheme, token] = auth.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token) throw new AdminError('admin_unauthenticated', 'The Authorization header must be "Bearer <admin token>".');
  const hash = Buffer.from(hashApiKey(token.trim()), 'hex');
  let found: AdminPrincipal | null = null;
  for (const [h, p] of tokens) {
    // Constant-time over the hash, and every token compared (no early return), so response
    // timing says nothing about near misses nor about which token matched.
    if (timingSafeEqual(Buffer.from(h, 'hex'), hash) && found === null) found = p;
  }
  if (found) return found;
  throw new AdminError('admin_unauthenticated', 'This admin token is not known (API keys are not admin tokens).');
}

export function canRead(p: AdminPrincipal, tenant: string): boolean {
  return p.role !== 'tenant-admin' || p.tenant === tenant;
}

/** Throws 404 for a tenant admin looking at another tenant: its entities are not even visible. */
export function assertVisible(p: AdminPrincipal, tenant: string, what: string): void {
  if (!canRead(p, tenant)) throw new AdminError('admin_not_found', `${what} does not exist.`);
}

export function assertCanWrite(p: AdminPrincipal, tenant: string): void {
  if (p.role === 'auditor') throw new AdminError('admin_forbidden', 'The auditor role is read-only.');
  if (p.role === 'tenant-admin' && p.tenant !== tenant) throw new AdminError('admin_forbidden', `A tenant admin of ${p.tenant} may not change tenant ${tenant}.`, [{ path: '/tenant', message: `must be ${p.tenant}` }]);
}

export function assertOperator(p: AdminPrincipal, action: string): void {
  if (p.role !== 'operator') throw new AdminError('admin_forbidden', `Only an operator may ${action}.`);
}
