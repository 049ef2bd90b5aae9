import { z } from 'zod';
import type { AdminRoute } from '../admin/router.ts';
import { assertGlobalReader, observabilityOf } from './start.ts';

// Admin API endpoints of observability: alerts, analytics and the access review.

const notification = z.object({
  status: z.enum(['firing', 'resolved']), rule: z.string(), description: z.string().nullable(), group: z.string().nullable(), groupBy: z.string(),
  matching: z.number(), total: z.number(), value: z.number(), threshold: z.object({ rate: z.number().optional(), count: z.number().optional() }),
  windowSeconds: z.number(), since: z.number(), at: z.number(), sampleRequestIds: z.array(z.string()), configVersion: z.number().nullable(), stateVersion: z.number().nullable(),
});

export function alertRoutes(): AdminRoute[] {
  return [{
    method: 'GET', path: '/v1/alerts', summary: 'Alert rules from the config, the alerts firing now and the latest notifications (newest last), cluster-wide', tag: 'observability', status: 200,
    response: z.object({ rules: z.array(z.object({ id: z.string() }).passthrough()), firing: z.array(z.object({ rule: z.string(), group: z.string().nullable(), since: z.number() })), recent: z.array(notification) }),
    async handle(call) {
      assertGlobalReader(call.principal, 'Alerts');
      const o = observabilityOf(call.deps.gateway);
      // Only the leading process evaluates; the state and notifications are the cluster's.
      await o?.alerts.evaluate();
      return { status: 200, body: { rules: call.deps.gateway.current().raw.alerts?.rules ?? [], firing: o ? await o.alerts.firing() : [], recent: o ? await o.alerts.recent() : [] } };
    },
  }];
}
