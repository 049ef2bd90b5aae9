import type { z } from 'zod';
import type { Gateway } from '../server/gateway.ts';
import type { VaultAttachment } from '../vault/vault-attachment.ts';
import type { AdminPrincipal } from './auth.ts';
import { AdminError } from './http.ts';

// One table drives both the admin API's routing and its OpenAPI document, so the document
// cannot describe an endpoint that does not exist (and the tests check the answers against it).

export interface AdminDeps {
  readonly gateway: Gateway;
  readonly databaseFile: string;
  /** The vault served or read by this process, once attached (GET /v1/vaults). */
  readonly vaults: VaultAttachment;
}

export interface AdminCall {
  readonly principal: AdminPrincipal;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly requestId: string;
  readonly deps: AdminDeps;
}

export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** OpenAPI-style template: /v1/consumers/{id}/keys */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly request?: z.ZodType;
  readonly response: z.ZodType;
  readonly status: number;
  readonly query?: readonly string[];
  handle(call: AdminCall): Promise<AdminAnswer> | AdminAnswer;
}

export interface CompiledAdminRoute extends AdminRoute {
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export function compileRoutes(routes: readonly AdminRoute[]): CompiledAdminRoute[] {
  return routes.map((r) => {
    const names: string[] = [];
    const pattern = new RegExp('^' + r.path.replace(/\{([a-zA-Z]+)\}/g, (_m, n: string) => { names.push(n); return '([^/]+)'; }) + '$');
    return { ...r, pattern, names };
  });
}

export type Match = { kind: 'found'; route: CompiledAdminRoute; params: Record<string, string> } | { kind: 'method'; allow: string[] } | { kind: 'none' };

/** A malformed escape (`%ZZ`) is the caller's mistake: a 400 problem, not a URIError turned 500. */
function decodePathParam(name: string, raw: string): string {
  try { return decodeURIComponent(raw); } catch {
    throw new AdminError('admin_invalid_request', `The path parameter ${name} is not valid percent-encoding: ${raw.slice(0, 100)}`, [{ path: `/path/${name}`, message: 'invalid percent-encoding' }]);
  }
}

export function matchRoute(routes: readonly CompiledAdminRoute[], method: string, path: string): Match {
  const allow: string[] = [];
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (r.method !== method) { allow.push(r.method); continue; }
    const params: Record<string, string> = {};
    r.names.forEach((n, i) => { params[n] = decodePathParam(n, m[i + 1]!); });
    return { kind: 'found', route: r, params };
  }
  return allow.length ? { kind: 'method', allow } : { kind: 'none' };
}
