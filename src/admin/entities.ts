import { z } from 'zod';
import { StateConflictError, type VersionInfo } from '../store/state-store.ts';
import { entitySchemas, keyEntity, type EntityKind, type EntityTypes, type Stored } from '../tenancy/model.ts';
import type { Change, StateMaps } from '../tenancy/state.ts';
import { assertCanWrite, assertOperator, assertVisible, canRead } from './auth.ts';
import { AdminError, pointer, type FieldError } from './http.ts';
import type { AdminCall, AdminRoute } from './router.ts';

// Generic create/read/update/delete over the state store, with tenant isolation: a tenant
// admin sees only its tenant's entities (others answer 404, as if absent) and may change only
// them; an auditor only reads; every change is one state version with its audit entries.

export const keyPublic = keyEntity.omit({ hash: true });

export function entityOut<K extends EntityKind>(kind: K, data: z.ZodType) {
  return z.object({ kind: z.literal(kind), id: z.string(), tenant: z.string(), version: z.number().int(), data });
}

export const outSchemas = {
  tenant: entityOut('tenant', entitySchemas.tenant),
  consumer: entityOut('consumer', entitySchemas.consumer),
  key: entityOut('key', keyPublic),
  api: entityOut('api', entitySchemas.api),
  subscription: entityOut('subscription', entitySchemas.subscription),
  policy: entityOut('policy', entitySchemas.policy),
  owner: entityOut('owner', entitySchemas.owner),
} as const;

export const itemResponse = (kind: EntityKind) => z.object({ item: outSchemas[kind], stateVersion: z.number().int() });
export const listResponse = (kind: EntityKind) => z.object({ items: z.array(outSchemas[kind]), stateVersion: z.number().int() });

export function out(s: Stored): { kind: EntityKind; id: string; tenant: string; version: number; data: unknown } {
  if (s.kind === 'key') {
    const { hash: _hash, ...rest } = s.data as EntityTypes['key'];
    return { kind: s.kind, id: s.id, tenant: s.tenant, version: s.version, data: rest };
  }
  return { kind: s.kind, id: s.id, tenant: s.tenant, version: s.version, data: s.data };
}

export function validate<T>(schema: z.ZodType<T>, body: unknown, prefix: readonly PropertyKey[] = []): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AdminError('admin_invalid_request', 'The body must be a JSON object.', [{ path: pointer(prefix), message: 'expected an object' }]);
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const errors: FieldError[] = r.error.issues.map((i) => ({ path: pointer([...prefix, ...i.path]), message: i.message }));
  throw new AdminError('admin_invalid_request', `The body has ${errors.length} problem(s): ${errors.map((e) => `${e.path || '(body)'} ${e.message}`).join('; ')}.`, errors);
}

export function stateOf(call: AdminCall): StateMaps {
  return call.deps.gateway.tenancy.state.entities;
}

export function stateVersion(call: AdminCall): number {
  return call.deps.gateway.tenancy.state.version;
}

export function getVisible<K extends EntityKind>(call: AdminCall, kind: K, id: string): Stored<K> {
  const e = (stateOf(call)[kind] as Map<string, Stored<K>>).get(id);
  if (!e) throw new AdminError('admin_not_found', `${kind} ${id} does not exist.`);
  assertVisible(call.principal, e.tenant, `${kind} ${id}`);
  return e;
}

export async function commit(call: AdminCall, summary: string, changes: readonly Change[]): Promise<VersionInfo> {
  try {
    return await call.deps.gateway.tenancy.commit({ id: call.principal.id, role: call.principal.role }, summary, changes);
  } catch (err) {
    if (err instanceof StateConflictError) throw new AdminError('admin_conflict', err.message);
    throw err;
  }
}

/** References every entity must satisfy, with the field that names the missing one. */
export function checkReferences(kind: EntityKind, data: EntityTypes[EntityKind], state: StateMaps, call: AdminCall): void {
  const d = data as unknown as Record<string, unknown>;
  const missing = (path: string, what: string): never => { throw new AdminError('admin_invalid_request', `${what} does not exist.`, [{ path, message: `${what} does not exist` }]); };
  const visible = (tenant: string) => canRead(call.principal, tenant);
  if (kind === 'consumer' || kind === 'api' || kind === 'policy' || kind === 'owner') {
    const t = state.tenant.get(d.tenant as string);
    if (!t || !visible(t.id)) missing('/tenant', `tenant ${String(d.tenant)}`);
  }
  if (kind === 'policy') {
    const api = state.api.get(d.api as string);
    if (!api || !visible(api.tenant)) missing('/api', `API ${String(d.api)}`);
    if (api!.data.tenant !== d.tenant) throw new AdminError('admin_invalid_request', `API ${api!.id} belongs to tenant ${api!.data.tenant}, not ${String(d.tenant)}.`, [{ path: '/api', message: 'must be an API of the policy\'s tenant' }]);
  }
  if (kind === 'api') {
    const routes = new Set(call.deps.gateway.current().routes.map((r) => r.id));
    const api = data as EntityTypes['api'];
    api.routes.forEach((r, i) => {
      if (!routes.has(r)) missing(`/routes/${i}`, `route ${r}`);
      for (const other of state.api.values()) {
        if (other.id !== api.id && other.data.routes.includes(r)) throw new AdminError('admin_conflict', `Route ${r} already belongs to API ${visible(other.tenant) ? other.id : 'of another tenant'}.`, [{ path: `/routes/${i}`, message: 'a route belongs to one API' }]);
      }
    });
  }
}

export interface CrudSpec<K extends EntityKind> {
  readonly kind: K;
  readonly plural: string;
  readonly tag: string;
  /** Extra changes when deleting (cascade), computed from the state. */
  readonly cascade?: (id: string, state: StateMaps) => Change[];
}

export function crudRoutes<K extends EntityKind>(spec: CrudSpec<K>): AdminRoute[] {
  const { kind, plural, tag } = spec;
  const schema = entitySchemas[kind] as unknown as z.ZodType<EntityTypes[K]>;
  const base = `/v1/${plural}`;
  return [
    {
      method: 'GET', path: base, summary: `List ${plural} (a tenant admin sees its tenant's only)`, tag, status: 200, response: listResponse(kind), query: ['tenant'],
      handle(call) {
        const tenant = call.query.get('tenant');
        const items = [...(stateOf(call)[kind] as Map<string, Stored>).values()].filter((e) => canRead(call.principal, e.tenant) && (tenant === null || e.tenant === tenant));
        return { status: 200, body: { items: items.map(out), stateVersion: stateVersion(call) } };
      },
    },
    {
      method: 'POST', path: base, summary: `Create a ${kind}`, tag, status: 201, request: schema, response: itemResponse(kind),
      async handle(call) {
        const data = validate(schema, call.body);
        const d = data as unknown as { id: string; tenant: string };
        assertCanWrite(call.principal, d.tenant);
        const state = stateOf(call);
        if ((state[kind] as Map<string, Stored>).has(d.id)) throw new AdminError('admin_conflict', `${kind} ${d.id} already exists.`, [{ path: '/id', message: 'already taken' }]);
        checkReferences(kind, data, state, call);
        const info = await commit(call, `create ${kind} ${d.id}`, [{ kind, id: d.id, before: null, after: data }]);
        return { status: 201, body: { item: out(getVisible(call, kind, d.id)), stateVersion: info.version } };
      },
    },
    {
      method: 'GET', path: `${base}/{id}`, summary: `Read a ${kind}`, tag, status: 200, response: itemResponse(kind),
      handle(call) {
        return { status: 200, body: { item: out(getVisible(call, kind, call.params.id!)), stateVersion: stateVersion(call) } };
      },
    },
    {
      method: 'PATCH', path: `${base}/{id}`, summary: `Change fields of a ${kind} (the whole result is validated again)`, tag, status: 200, request: z.record(z.string(), z.unknown()), response: itemResponse(kind),
      async handle(call) {
        const existing = getVisible(call, kind, call.params.id!);
        assertCanWrite(call.principal, existing.tenant);
        if (call.body === null || typeof call.body !== 'object' || Array.isArray(call.body)) throw new AdminError('admin_invalid_request', 'The body must be a JSON object.', [{ path: '', message: 'expected an object' }]);
        const patch = call.body as Record<string, unknown>;
        if (patch.id !== undefined && patch.id !== existing.id) throw new AdminError('admin_invalid_request', 'The id cannot change.', [{ path: '/id', message: 'immutable' }]);
        const merged: Record<string, unknown> = { ...(existing.data as object), ...patch };
        // The Deprecation header needs the moment of deprecation: recorded when the status changes.
        if (kind === 'api' && merged.status === 'deprecated' && (existing.data as { status?: string }).status !== 'deprecated' && patch.deprecatedAt === undefined) merged.deprecatedAt = new Date().toISOString();
        const data = validate(schema, merged);
        const d = data as unknown as { tenant?: string };
        if (d.tenant !== undefined) assertCanWrite(call.principal, d.tenant);
        checkReferences(kind, data, stateOf(call), call);
        const info = await commit(call, `update ${kind} ${existing.id}`, [{ kind, id: existing.id, before: existing.data, after: data }]);
        return { status: 200, body: { item: out(getVisible(call, kind, existing.id)), stateVersion: info.version } };
      },
    },
    {
      method: 'DELETE', path: `${base}/{id}`, summary: `Delete a ${kind}`, tag, status: 200, response: z.object({ deleted: z.string(), stateVersion: z.number().int() }),
      async handle(call) {
        const existing = getVisible(call, kind, call.params.id!);
        assertCanWrite(call.principal, existing.tenant);
        const extra = spec.cascade?.(existing.id, stateOf(call)) ?? [];
        const info = await commit(call, `delete ${kind} ${existing.id}`, [...extra, { kind, id: existing.id, before: existing.data, after: null }]);
        return { status: 200, body: { deleted: existing.id, stateVersion: info.version } };
      },
    },
  ];
}

/** Tenants: everyone may read their own; only operators create, change or delete them. */
export function tenantRoutes(): AdminRoute[] {
  const crud = crudRoutes({ kind: 'tenant', plural: 'tenants', tag: 'tenants' });
  return crud.map((r) => {
    if (r.method === 'GET') return r;
    return {
      ...r,
      handle(call: AdminCall) {
        assertOperator(call.principal, `${r.method === 'POST' ? 'create' : r.method === 'PATCH' ? 'change' : 'delete'} tenants`);
        if (r.method === 'DELETE') {
          const s = stateOf(call);
          const id = call.params.id!;
          const used = [...s.consumer.values(), ...s.api.values()].filter((e) => e.tenant === id);
          if (used.length) throw new AdminError('admin_conflict', `Tenant ${id} still has ${used.length} consumer(s) or API(s); delete them first.`);
        }
        return r.handle(call);
      },
    };
  });
}

export const cascadeConsumer = (id: string, s: StateMaps): Change[] => [
  ...[...s.key.values()].filter((k) => k.data.consumer === id).map((k): Change => ({ kind: 'key', id: k.id, before: k.data, after: null })),
  ...[...s.subscription.values()].filter((x) => x.data.consumer === id).map((x): Change => ({ kind: 'subscription', id: x.id, before: x.data, after: null })),
];

export const cascadeApi = (id: string, s: StateMaps): Change[] => [
  ...[...s.subscription.values()].filter((x) => x.data.api === id).map((x): Change => ({ kind: 'subscription', id: x.id, before: x.data, after: null })),
  ...[...s.policy.values()].filter((p) => p.data.api === id).map((p): Change => ({ kind: 'policy', id: p.id, before: p.data, after: null })),
];
