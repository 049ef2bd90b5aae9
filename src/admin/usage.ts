import { z } from 'zod';
import { periodRange } from '../ai/quota-ledger.ts';
import { usageDimensions, usageReport, type UsageDimension } from '../ai/usage-report.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import { assertVisible } from './auth.ts';
import { AdminError } from './http.ts';
import type { AdminCall, AdminRoute } from './router.ts';

// AI usage and cost (docs/ai-gateway.md) on the admin listener: the same query as
// `pinpoint usage`. A tenant admin sees its own tenant's usage only.

const usageLine = z.object({
  group: z.record(z.string(), z.string().nullable()),
  requests: z.number().int(), promptTokens: z.number().int(), completionTokens: z.number().int(), totalTokens: z.number().int(),
  costUsd: z.number(), costNanoUsd: z.number().int(),
});

const usageAnswer = z.object({
  from: z.string(), to: z.string(), groupBy: z.array(z.enum(usageDimensions as [UsageDimension, ...UsageDimension[]])),
  tenant: z.string().nullable(), items: z.array(usageLine),
  total: usageLine.omit({ group: true }),
  /** The routes served by the AI gateway in the live config (empty: no AI routes, nothing to report). */
  aiRoutes: z.array(z.string()),
  models: z.array(z.string()),
});

const END_OF_TIME = 8.64e15;

function timeParam(call: AdminCall, name: string): number | null {
  const v = call.query.get(name);
  if (v === null) return null;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new AdminError('admin_invalid_request', `${name}: "${v}" is not an ISO date or time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z).`, [{ path: `/query/${name}`, message: 'an ISO date or time' }]);
  return t;
}

/** So a reader (the console) can tell "no usage yet" from "no AI gateway configured". */
function aiSetup(call: AdminCall): { aiRoutes: string[]; models: string[] } {
  const config = call.deps.gateway.current();
  if (!config.ai) return { aiRoutes: [], models: [] };
  return { aiRoutes: config.routes.filter((r) => r.ai).map((r) => r.id), models: Object.keys(config.raw.ai?.models ?? {}) };
}

function report(call: AdminCall) {
  const by = (call.query.get('by') ?? 'consumer,model').split(',').map((s) => s.trim()).filter(Boolean);
  for (const d of by) {
    if (!(usageDimensions as readonly string[]).includes(d)) throw new AdminError('admin_invalid_request', `by: "${d}" is not one of ${usageDimensions.join(', ')}.`, [{ path: '/query/by', message: `one of ${usageDimensions.join(', ')}` }]);
  }
  const period = call.query.get('period') ?? 'month';
  if (!['day', 'month', 'all'].includes(period)) throw new AdminError('admin_invalid_request', `period: "${period}" is not day, month or all.`, [{ path: '/query/period', message: 'day, month or all' }]);
  const now = Date.now();
  const range = period === 'all' ? { start: 0, end: END_OF_TIME } : periodRange(period as 'day' | 'month', now);
  const from = timeParam(call, 'since') ?? range.start;
  const to = timeParam(call, 'until') ?? range.end;
  const p = call.principal;
  let tenant = call.query.get('tenant') ?? undefined;
  if (p.role === 'tenant-admin') {
    if (tenant !== undefined) assertVisible(p, tenant, `Tenant ${tenant}`);
    tenant = p.tenant ?? '\u0000none';
  }
  const q = { from, to, tenant, consumer: call.query.get('consumer') ?? undefined, model: call.query.get('model') ?? undefined };
  const db = openDatabase(call.deps.databaseFile, { readOnly: true });
  try {
    const items = usageReport(db, { ...q, groupBy: by as UsageDimension[] });
    const [all] = usageReport(db, { ...q, groupBy: [] });
    const { group: _g, ...total } = all ?? { group: {}, requests: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, costUsd: 0, costNanoUsd: 0 };
    return {
      from: new Date(from).toISOString(), to: to >= END_OF_TIME ? 'now' : new Date(to).toISOString(), groupBy: by as UsageDimension[],
      tenant: tenant ?? null, items, total, ...aiSetup(call),
    };
  } finally {
    db.close();
  }
}

export function usageRoutes(): AdminRoute[] {
  return [{
    method: 'GET', path: '/v1/usage', tag: 'usage', status: 200,
    summary: 'AI gateway tokens and cost, aggregated by tenant, consumer, key, model, provider and/or day (a tenant admin sees its own tenant only)',
    query: ['by', 'period', 'since', 'until', 'tenant', 'consumer', 'model'],
    response: usageAnswer,
    handle: (call) => ({ status: 200, body: report(call) }),
  }];
}
