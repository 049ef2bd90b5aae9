import { z } from 'zod';
import type { AdminCall, AdminRoute } from '../admin/router.ts';
import { AdminError } from '../admin/http.ts';
import { withCallLog } from './call-log-of.ts';
import { dimensions, timeSeries, topOffenders, type Dimension, type Scope } from './series.ts';
import { findJumps } from './what-changed.ts';

// /v1/stats/*: analytics over the call log for the console and scripts. Tenant admins see
// the calls of their consumers and to their APIs' routes only.

const num = (call: AdminCall, name: string, fallback: number, min: number, max: number): number => {
  const raw = call.query.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new AdminError('admin_invalid_request', `?${name} must be a number between ${min} and ${max}.`, [{ path: `?${name}`, message: 'out of range' }]);
  return n;
};

function scopeOf(call: AdminCall): Scope & { bucketMs: number } {
  const now = Date.now();
  const to = num(call, 'to', now, 0, 8.64e15);
  const from = num(call, 'from', to - 3600_000, 0, to);
  const bucketMs = Math.round(num(call, 'bucket', Math.max(1, Math.round((to - from) / 60_000)), 1, 86400 * 31) * 1000);
  if ((to - from) / bucketMs > 5000) throw new AdminError('admin_invalid_request', 'More than 5000 buckets: widen ?bucket (seconds) or narrow ?from/?to.', [{ path: '?bucket', message: 'too small for the range' }]);
  const p = call.principal;
  let tenant: Scope['tenant'];
  if (p.role === 'tenant-admin') {
    const routes = [...call.deps.gateway.tenancy.compiled.apiByRoute].filter(([, api]) => api.tenant === p.tenant).map(([r]) => r);
    tenant = { id: p.tenant ?? '', routes };
  }
  return { from, to, bucketMs, tenant, route: call.query.get('route') ?? undefined, code: call.query.get('code') ?? undefined };
}

function dimension(call: AdminCall, fallback: Dimension): Dimension {
  const by = call.query.get('by') ?? fallback;
  if (!(dimensions as readonly string[]).includes(by)) throw new AdminError('admin_invalid_request', `?by must be one of ${dimensions.join(', ')}.`, [{ path: '?by', message: 'unknown dimension' }]);
  return by as Dimension;
}

const point = z.object({ t: z.number(), total: z.number(), refused: z.number(), by: z.record(z.string(), z.number()) });

export function statsRoutes(): AdminRoute[] {
  return [
    {
      method: 'GET', path: '/v1/stats/series', summary: 'Requests and refusals over time, split by reason, route, consumer, tenant, clientIp, status or credential', tag: 'observability', status: 200,
      query: ['from', 'to', 'bucket', 'by', 'route', 'code'],
      response: z.object({ from: z.number(), to: z.number(), bucketMs: z.number(), by: z.string(), points: z.array(point) }),
      async handle(call) {
        const s = scopeOf(call);
        const by = dimension(call, 'reason');
        const points = await withCallLog(call, (store) => timeSeries(store.log, s, s.bucketMs, by));
        return { status: 200, body: { from: s.from, to: s.to, bucketMs: s.bucketMs, by, points } };
      },
    },
    {
      method: 'GET', path: '/v1/stats/top', summary: 'Top offenders: who is refused most (by consumer, clientIp, credential, route, tenant) and why', tag: 'observability', status: 200,
      query: ['from', 'to', 'by', 'limit', 'route', 'code'],
      response: z.object({ by: z.string(), items: z.array(z.object({ key: z.string(), refused: z.number(), total: z.number(), codes: z.record(z.string(), z.number()) })) }),
      async handle(call) {
        const s = scopeOf(call);
        const by = dimension(call, 'consumer');
        const limit = num(call, 'limit', 10, 1, 1000);
        const items = await withCallLog(call, (store) => topOffenders(store.log, s, by, limit));
        return { status: 200, body: { by, items } };
      },
    },
    {
      method: 'GET', path: '/v1/stats/changes', summary: 'What changed: jumps in refusals, with the config and state versions (and the change) that preceded each', tag: 'observability', status: 200,
      query: ['from', 'to', 'bucket', 'route', 'minRefusals', 'factor'],
      response: z.object({ jumps: z.array(z.object({ at: z.number(), refused: z.number(), baseline: z.number(), configVersion: z.number(), stateVersion: z.number().nullable() }).passthrough()) }),
      async handle(call) {
        const s = scopeOf(call);
        const minRefusals = num(call, 'minRefusals', 5, 1, 1e9);
        const factor = num(call, 'factor', 3, 1, 1000);
        const jumps = await withCallLog(call, (store) => findJumps(store, call.deps.gateway.tenancy.store, s, { bucketMs: s.bucketMs, minRefusals, factor }));
        return { status: 200, body: { jumps } };
      },
    },
  ];
}
