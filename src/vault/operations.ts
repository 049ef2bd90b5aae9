import type { SecretPermission } from './settings.ts';

export type OperationName =
  | 'SecretSet' | 'SecretGet' | 'SecretList' | 'SecretListVersions' | 'SecretUpdate' | 'SecretDelete'
  | 'SecretGetDeleted' | 'SecretListDeleted' | 'SecretRecover' | 'SecretPurge' | 'SecretBackup' | 'SecretRestore';

export interface Operation {
  readonly name: OperationName;
  readonly permission: SecretPermission;
  /** The throttling class: Key Vault limits reads and writes of a vault separately. */
  readonly throttleClass: 'read' | 'write';
  readonly secretName: string | null;
  readonly version: string | null;
}

export type RouteResult =
  | { readonly kind: 'operation'; readonly op: Operation }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] };

const spec: Record<OperationName, { permission: SecretPermission; cls: 'read' | 'write' }> = {
  SecretSet: { permission: 'set', cls: 'write' },
  SecretGet: { permission: 'get', cls: 'read' },
  SecretList: { permission: 'list', cls: 'read' },
  SecretListVersions: { permission: 'list', cls: 'read' },
  SecretUpdate: { permission: 'set', cls: 'write' },
  SecretDelete: { permission: 'delete', cls: 'write' },
  // Key Vault documents that reading deleted secrets requires the list permission.
  SecretGetDeleted: { permission: 'list', cls: 'read' },
  SecretListDeleted: { permission: 'list', cls: 'read' },
  SecretRecover: { permission: 'recover', cls: 'write' },
  SecretPurge: { permission: 'purge', cls: 'write' },
  SecretBackup: { permission: 'backup', cls: 'write' },
  SecretRestore: { permission: 'restore', cls: 'write' },
};

const op = (name: OperationName, secretName: string | null = null, version: string | null = null): RouteResult =>
  ({ kind: 'operation', op: { name, permission: spec[name].permission, throttleClass: spec[name].cls, secretName, version } });

const notAllowed = (...allow: string[]): RouteResult => ({ kind: 'method_not_allowed', allow });

/** Maps a method and a decoded path to a secrets operation; a trailing slash is tolerated as the SDK sends one. */
export function routeVaultRequest(method: string, pathname: string): RouteResult {
  const segs = pathname.replace(/^\/+/, '').replace(/\/+$/, '').split('/').map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
  const [root, a, b] = segs;
  const n = segs.length;
  if (root === 'secrets') {
    if (n === 1) return method === 'GET' ? op('SecretList') : notAllowed('GET');
    if (n === 2 && a === 'restore' && method === 'POST') return op('SecretRestore');
    if (n === 2) {
      if (method === 'GET') return op('SecretGet', a!);
      if (method === 'PUT') return op('SecretSet', a!);
      if (method === 'DELETE') return op('SecretDelete', a!);
      if (method === 'PATCH') return op('SecretUpdate', a!);
      return notAllowed('GET', 'PUT', 'PATCH', 'DELETE');
    }
    if (n === 3 && b === 'versions') return method === 'GET' ? op('SecretListVersions', a!) : notAllowed('GET');
    if (n === 3 && b === 'backup') return method === 'POST' ? op('SecretBackup', a!) : notAllowed('POST');
    if (n === 3) {
      if (method === 'GET') return op('SecretGet', a!, b || null);
      if (method === 'PATCH') return op('SecretUpdate', a!, b || null);
      return notAllowed('GET', 'PATCH');
    }
    return { kind: 'not_found' };
  }
  if (root === 'deletedsecrets') {
    if (n === 1) return method === 'GET' ? op('SecretListDeleted') : notAllowed('GET');
    if (n === 2) {
      if (method === 'GET') return op('SecretGetDeleted', a!);
      if (method === 'DELETE') return op('SecretPurge', a!);
      return notAllowed('GET', 'DELETE');
    }
    if (n === 3 && b === 'recover') return method === 'POST' ? op('SecretRecover', a!) : notAllowed('POST');
  }
  return { kind: 'not_found' };
}
