import { z } from 'zod';
import { AdminError } from '../admin/http.ts';
import type { AdminCall, AdminRoute } from '../admin/router.ts';
import { withCallLog } from './call-log-of.ts';
import { accessAudit } from './access-audit.ts';

// GET /v1/access-review: the access audit for the console (`pinpoint audit` prints the same).
// Not /v1/audit, which is the admin change trail.

const intParam = (call: AdminCall, name: string, fallback: number, max: number): number => {
  const raw = call.query.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new AdminError('admin_invalid_request', `?${name} must be a whole number from 0 to ${max}.`, [{ path: `?${name}`, message: 'out of range' }]);
  return n;
};

export function accessReviewRoutes(): AdminRoute[] {
  return [{
    method: 'GET', path: '/v1/access-review', summary: 'Access audit: unused keys, keys without or near expiry, granted but unexercised scopes, policies that never matched, identities reaching many tenants', tag: 'observability', status: 200,
    query: ['unusedDays', 'expiringDays', 'manyTenants'],
    response: z.object({
      window: z.object({ from: z.number().nullable(), to: z.number() }),
      unusedKeys: z.array(z.object({ key: z.string(), consumer: z.string(), tenant: z.string(), lastUsed: z.number().nullable(), requests: z.number(), advice: z.string() })),
      expiry: z.array(z.object({ key: z.string(), consumer: z.string(), tenant: z.string(), expiresAt: z.string().nullable(), advice: z.string() })),
      unusedScopes: z.array(z.object({ key: z.string(), consumer: z.string(), tenant: z.string(), granted: z.array(z.string()), exercised: z.array(z.string()), unused: z.array(z.string()), advice: z.string() })),
      unmatchedPolicies: z.array(z.object({ policy: z.string(), tenant: z.string(), api: z.string(), effect: z.string(), advice: z.string() })),
      manyTenants: z.array(z.object({ identity: z.string(), kind: z.enum(['consumer', 'jwt-subject']), tenants: z.array(z.string()), advice: z.string() })),
    }),
    async handle(call) {
      const options = {
        now: Date.now(), unusedDays: intParam(call, 'unusedDays', 30, 3650), expiringDays: intParam(call, 'expiringDays', 14, 3650), manyTenants: Math.max(2, intParam(call, 'manyTenants', 2, 1000)),
        tenant: call.principal.role === 'tenant-admin' ? call.principal.tenant ?? '' : undefined,
      };
      const body = await withCallLog(call, (store) => accessAudit(store.log, call.deps.gateway.tenancy.state.entities, call.deps.gateway.current().raw.routes, options));
      return { status: 200, body };
    },
  }];
}
