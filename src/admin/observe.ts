import { z } from 'zod';
import { OTHER_TENANT, tenantOf } from '../analytics/caller.ts';
import { explainTrace, versionsForExplain } from '../explain/explain.ts';
import { redecidable, redecide, tenancyFindings } from '../explain/tenancy.ts';
import type { TraceRecord } from '../log/trace.ts';
import { compileTenancy } from '../policy/compile.ts';
import { findTrace, recentTraces } from '../store/sqlite/call-log-store.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import { entitySchemas, entityKinds, type EntityKind, type Stored } from '../tenancy/model.ts';
import { applyChanges, type Change } from '../tenancy/state.ts';
import { assertCanWrite, canRead, type AdminPrincipal } from './auth.ts';
import { stateOf, validate } from './entities.ts';
import { AdminError } from './http.ts';
import type { AdminCall, AdminRoute } from './router.ts';

// What the operator reads: status and change propagation, the audit trail (secrets
// redacted), the call log and explain, and the dry-run of a change against recent traffic.

function redact(data: unknown): unknown {
  if (data === null || typeof data !== 'object') return data;
  const d = { ...(data as Record<string, unknown>) };
  if (typeof d.hash === 'string') d.hash = 'sha256:…(redacted)';
  return d;
}

const auditEntry = z.object({
  version: z.number().int(), at: z.number(), actor: z.object({ id: z.string(), role: z.string() }), summary: z.string(),
  kind: z.string(), id: z.string(), tenant: z.string(), action: z.enum(['create', 'update', 'delete']), before: z.unknown(), after: z.unknown(),
});

const traceSummary = z.object({
  requestId: z.string(), ts: z.number(), method: z.string(), path: z.string(), status: z.number().int(), code: z.string().nullable(),
  routeId: z.string().nullable(), consumer: z.string().nullable(), tenant: z.string().nullable(), configVersion: z.number().int(), stateVersion: z.number().int().nullable(),
  /** Whether GET /v1/explain answers this caller for it (a tenant admin: only calls wholly its tenant's). */
  explainable: z.boolean(),
});

const dryRunRequest = z.strictObject({
  changes: z.array(z.union([
    z.strictObject({ op: z.literal('put'), kind: z.enum(entityKinds as [EntityKind, ...EntityKind[]]), data: z.record(z.string(), z.unknown()) }),
    z.strictObject({ op: z.literal('delete'), kind: z.enum(entityKinds as [EntityKind, ...EntityKind[]]), id: z.string().min(1) }),
  ])).min(1),
  /** How many of the most recent logged requests to re-decide. */
  last: z.number().int().min(1).max(10000).default(100),
});

const flip = z.object({
  requestId: z.string(), method: z.string(), path: z.string(), consumer: z.string().nullable(),
  now: z.object({ allowed: z.boolean(), code: z.string().nullable(), decidedBy: z.string().nullable() }),
  proposed: z.object({ allowed: z.boolean(), code: z.string().nullable(), decidedBy: z.string().nullable() }),
});

/** A trace is a tenant's when its caller or its route's API belongs to the tenant. */
function traceVisible(p: AdminPrincipal, t: TraceRecord, apiTenant: (routeId: string | null) => string | null): boolean {
  if (p.role !== 'tenant-admin') return true;
  return t.identity?.tenantId === p.tenant || apiTenant(t.routeId) === p.tenant;
}

/** A tenant admin looking at a call to its API by another tenant's caller: the identity is not its to see. */
function foreignCaller(p: AdminPrincipal, t: TraceRecord): boolean {
  if (p.role !== 'tenant-admin') return false;
  const tenant = tenantOf(t);
  return tenant !== null && tenant !== p.tenant;
}

/** A tenant admin's own caller on another tenant's route: the call is its app's, the API is not its. */
function foreignApi(call: AdminCall, t: TraceRecord): boolean {
  if (call.principal.role !== 'tenant-admin') return false;
  const tenant = apiTenantOf(call)(t.routeId);
  return tenant !== null && tenant !== call.principal.tenant;
}

function explainableBy(call: AdminCall, t: TraceRecord): boolean {
  return !foreignCaller(call.principal, t) && !foreignApi(call, t);
}

function callerShown(p: AdminPrincipal, t: TraceRecord): { consumer: string | null; tenant: string | null } {
  return foreignCaller(p, t) ? { consumer: OTHER_TENANT, tenant: OTHER_TENANT } : { consumer: t.identity?.consumerId ?? null, tenant: t.identity?.tenantId ?? null };
}

function withDb<T>(call: AdminCall, fn: (db: ReturnType<typeof openDatabase>) => T): T {
  const db = openDatabase(call.deps.databaseFile, { readOnly: true });
  try { return fn(db); } finally { db.close(); }
}

/** Recent calls from wherever this node logs them: the shared store (every node's calls) or its SQLite file. */
async function recent(call: AdminCall, limit: number): Promise<TraceRecord[]> {
  const shared = call.deps.gateway.sharedStore;
  return shared ? shared.recentTraces(limit) : withDb(call, (db) => recentTraces(db, limit));
}

async function explainLogged(call: AdminCall, requestId: string): Promise<ReturnType<typeof explainTrace> | null> {
  const shared = call.deps.gateway.sharedStore;
  if (!shared) return withDb(call, (db) => {
    const t = findTrace(db, requestId);
    return t ? explainTrace(db, t) : null;
  });
  const t = await shared.findTrace(requestId);
  return t ? explainTrace(await versionsForExplain(shared, t), t) : null;
}

function apiTenantOf(call: AdminCall) {
  const compiled = call.deps.gateway.tenancy.compiled;
  return (routeId: string | null) => (routeId ? compiled.apiByRoute.get(routeId)?.tenant ?? null : null);
}

function routePath(call: AdminCall, routeId: string | null): string | null {
  return call.deps.gateway.current().routes.find((r) => r.id === routeId)?.path ?? null;
}

export function observeRoutes(): AdminRoute[] {
  return [
    {
      method: 'GET', path: '/v1/status', summary: 'Who am I, the live versions and the last change\'s propagation time', tag: 'status', status: 200,
      response: z.object({ principal: z.object({ id: z.string(), role: z.string(), tenant: z.string().nullable() }), stateVersion: z.number().int(), configVersion: z.number().int(), lastPropagationMs: z.number().nullable() }),
      handle(call) {
        const g = call.deps.gateway;
        return { status: 200, body: { principal: call.principal, stateVersion: g.tenancy.state.version, configVersion: g.current().version, lastPropagationMs: g.tenancy.lastPropagationMs } };
      },
    },
    {
      method: 'GET', path: '/v1/audit', summary: 'The audit trail: who changed what, when, before and after (hashes redacted), newest first', tag: 'audit', status: 200,
      query: ['kind', 'id', 'limit'], response: z.object({ items: z.array(auditEntry) }),
      async handle(call) {
        const kind = call.query.get('kind');
        if (kind !== null && !(entityKinds as string[]).includes(kind)) throw new AdminError('admin_invalid_request', `kind must be one of ${entityKinds.join(', ')}.`, [{ path: '?kind', message: 'unknown kind' }]);
        const limit = Math.min(Number(call.query.get('limit') ?? 100) || 100, 1000);
        const entries = await call.deps.gateway.tenancy.store.audit({
          kind: (kind ?? undefined) as EntityKind | undefined, id: call.query.get('id') ?? undefined, limit,
          tenant: call.principal.role === 'tenant-admin' ? call.principal.tenant ?? '' : undefined,
        });
        return { status: 200, body: { items: entries.map((e) => ({ version: e.version, at: e.at, actor: e.actor, summary: e.summary, kind: e.kind, id: e.id, tenant: e.tenant, action: e.action, before: redact(e.before), after: redact(e.after) })) } };
      },
    },
    {
      method: 'GET', path: '/v1/logs', summary: 'Recent calls (a tenant admin sees its callers\' and its APIs\' only)', tag: 'logs', status: 200,
      query: ['limit', 'code'], response: z.object({ items: z.array(traceSummary) }),
      async handle(call) {
        await call.deps.gateway.writer.flush();
        const limit = Math.min(Number(call.query.get('limit') ?? 50) || 50, 1000);
        const code = call.query.get('code');
        const visible = apiTenantOf(call);
        const traces = await recent(call, Math.min(limit * 5, 5000));
        const items = traces.filter((t) => traceVisible(call.principal, t, visible) && (code === null || t.code === code)).slice(0, limit).map((t) => ({
          requestId: t.requestId, ts: t.ts, method: t.method, path: t.path, status: t.status, code: t.code, routeId: t.routeId,
          ...callerShown(call.principal, t), configVersion: t.configVersion, stateVersion: t.stateVersion ?? null,
          explainable: explainableBy(call, t),
        }));
        return { status: 200, body: { items } };
      },
    },
    {
      method: 'GET', path: '/v1/explain/{requestId}', summary: 'Explain one request: its checks, the refusing rule, the diagnosis, similar allowed identities, later versions', tag: 'logs', status: 200,
      response: z.object({ summary: z.string(), code: z.string().nullable(), status: z.number().int(), configVersion: z.number().int(), stateVersion: z.number().int().nullable(), findings: z.array(z.string()), checks: z.array(z.unknown()) }),
      async handle(call) {
        await call.deps.gateway.writer.flush();
        const x = await explainLogged(call, call.params.requestId!);
        // The checks' evidence names the caller's key, consumer and tenant and the route's API and
        // its tenant: a tenant admin is explained only calls wholly its own (operators see all).
        if (!x || !traceVisible(call.principal, x.trace, apiTenantOf(call)) || !explainableBy(call, x.trace)) throw new AdminError('admin_not_found', `No logged request ${call.params.requestId}.`);
        const extra = await tenancyFindings(call.deps.gateway.tenancy.store, x.trace, routePath(call, x.trace.routeId));
        return { status: 200, body: { summary: x.summary, code: x.trace.code, status: x.trace.status, configVersion: x.trace.configVersion, stateVersion: x.trace.stateVersion ?? null, findings: [...x.findings, ...extra], checks: x.trace.checks } };
      },
    },
    {
      method: 'POST', path: '/v1/dry-run', summary: 'Evaluate a proposed change against the last N logged requests; nothing is applied', tag: 'changes', status: 200, request: dryRunRequest,
      response: z.object({ stateVersion: z.number().int(), evaluated: z.number().int(), flips: z.array(flip) }),
      async handle(call) {
        const req = validate(dryRunRequest, call.body);
        const runtime = call.deps.gateway.tenancy;
        const state = stateOf(call);
        const changes: Change[] = req.changes.map((c, i) => {
          if (c.op === 'delete') {
            const e = (state[c.kind] as Map<string, Stored>).get(c.id);
            if (!e || !canRead(call.principal, e.tenant)) throw new AdminError('admin_invalid_request', `${c.kind} ${c.id} does not exist.`, [{ path: `/changes/${i}/id`, message: 'no such entity' }]);
            assertCanWrite(call.principal, e.tenant);
            return { kind: c.kind, id: c.id, before: e.data, after: null };
          }
          const data = validate(entitySchemas[c.kind] as z.ZodType<Record<string, unknown>>, c.data, ['changes', i, 'data']);
          const existing = (state[c.kind] as Map<string, Stored>).get(data.id as string);
          // As POST answers for a taken id: naming the owner's tenant would say whose it is.
          if (existing && !canRead(call.principal, existing.tenant)) throw new AdminError('admin_conflict', `${c.kind} ${existing.id} already exists.`, [{ path: `/changes/${i}/data/id`, message: 'already taken' }]);
          if (typeof data.tenant === 'string') assertCanWrite(call.principal, data.tenant);
          if (existing) assertCanWrite(call.principal, existing.tenant);
          return { kind: c.kind, id: data.id as string, before: existing?.data ?? null, after: data as never };
        });
        const now = runtime.compiled;
        const proposed = compileTenancy({ version: now.stateVersion + 1, at: Date.now(), entities: applyChanges(state, changes, now.stateVersion + 1) });
        await call.deps.gateway.writer.flush();
        const visible = apiTenantOf(call);
        const traces = (await recent(call, req.last)).filter((t) => redecidable(t) && traceVisible(call.principal, t, visible));
        const flips = [];
        for (const t of traces) {
          const path = routePath(call, t.routeId);
          // Both sides judged as of now: only the proposed change can make them differ.
          const at = Date.now();
          const a = redecide(t, now, path, at);
          const b = redecide(t, proposed, path, at);
          if (a.allowed !== b.allowed || a.code !== b.code) flips.push({ requestId: t.requestId, method: t.method, path: t.path, consumer: callerShown(call.principal, t).consumer, now: a, proposed: b });
        }
        return { status: 200, body: { stateVersion: now.stateVersion, evaluated: traces.length, flips } };
      },
    },
  ];
}
