import type { z } from 'zod';
import type { Gateway } from '../server/gateway.ts';
import type { AdminPrincipal } from './auth.ts';
import { AdminError } from './http.ts';

// One table drives both the admin API's routing and its OpenAPI document, so the document
// cannot describe an endpoint that does not exist (and the tests check the answers against it).

export interface AdminDeps {
  readonly gateway: Gateway;
  readonly databaseFile: string;
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

export function matchRoute(routes: readonly CompiledAdminRoute[], method: string, path: string): Match {
  const allow: string[] = [];
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (r.method !== method) { allow.push(r.method); continue; }
    const params: Record<string, string> = {};
    for (const [i, n] of r.names.entries()) {
      // Bad percent-encoding (%zz, a cut UTF-8 sequence) is the caller's error, not a URIError for the 500 handler.
      try { params[n] = decodeURIComponent(m[i + 1]!); } catch {
        throw new AdminError('admin_invalid_request', `The path segment for {${n}} is not valid percent-encoding.`, [{ path: `/params/${n}`, message: 'invalid percent-encoding' }]);
      }
    }
    return { kind: 'found', route: r, params };
  }
  return allow.length ? { kind: 'method', allow } : { kind: 'none' };
}
