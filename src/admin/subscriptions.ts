import { z } from 'zod';
import type { Stored, Subscription } from '../tenancy/model.ts';
import { assertCanWrite, canRead, type AdminPrincipal } from './auth.ts';
import { commit, itemResponse, listResponse, out, stateOf, stateVersion, validate } from './entities.ts';
import { AdminError } from './http.ts';
import type { AdminCall, AdminRoute } from './router.ts';

// The subscription workflow: the consumer's tenant requests, the API's tenant approves or
// rejects; either side may revoke. A subscription is visible to both tenants and no other.

export const subscriptionRequest = z.strictObject({
  consumer: z.string().min(1),
  api: z.string().min(1),
  note: z.string().max(500).optional(),
});

const decisionRequest = z.strictObject({ note: z.string().max(500).optional() });

function visibleTo(p: AdminPrincipal, s: Stored<'subscription'>, apiTenant: string | undefined): boolean {
  return canRead(p, s.tenant) || (apiTenant !== undefined && canRead(p, apiTenant));
}

function getSubscription(call: AdminCall): { sub: Stored<'subscription'>; apiTenant: string } {
  const sub = stateOf(call).subscription.get(call.params.id!);
  const apiTenant = sub ? stateOf(call).api.get(sub.data.api)?.tenant ?? '' : '';
  if (!sub || !visibleTo(call.principal, sub, apiTenant)) throw new AdminError('admin_not_found', `subscription ${call.params.id} does not exist.`);
  return { sub, apiTenant };
}

function transition(action: 'approve' | 'reject' | 'revoke', from: readonly Subscription['status'][], to: Subscription['status']): AdminRoute {
  return {
    method: 'POST', path: `/v1/subscriptions/{id}/${action}`, tag: 'subscriptions', status: 200, request: decisionRequest, response: itemResponse('subscription'),
    summary: action === 'revoke' ? 'Revoke a subscription (either tenant)' : `${action === 'approve' ? 'Approve' : 'Reject'} a requested subscription (the API's tenant)`,
    async handle(call) {
      const { sub, apiTenant } = getSubscription(call);
      // Approval belongs to the API's owner; revocation to either side.
      if (action === 'revoke' && call.principal.role === 'tenant-admin' && call.principal.tenant === sub.tenant) assertCanWrite(call.principal, sub.tenant);
      else assertCanWrite(call.principal, apiTenant);
      if (!from.includes(sub.data.status)) throw new AdminError('admin_conflict', `subscription ${sub.id} is ${sub.data.status}; ${action} needs ${from.join(' or ')}.`);
      const req = validate(decisionRequest, call.body ?? {});
      const after: Subscription = { ...sub.data, status: to, ...(req.note ? { note: req.note } : {}) };
      const info = await commit(call, `${action} subscription ${sub.id}`, [{ kind: 'subscription', id: sub.id, before: sub.data, after }]);
      return { status: 200, body: { item: out(stateOf(call).subscription.get(sub.id)!), stateVersion: info.version } };
    },
  };
}

export function subscriptionRoutes(): AdminRoute[] {
  const tag = 'subscriptions';
  return [
    {
      method: 'GET', path: '/v1/subscriptions', summary: 'List subscriptions (of the tenant\'s consumers and to the tenant\'s APIs)', tag, status: 200, response: listResponse('subscription'), query: ['api', 'status'],
      handle(call) {
        const s = stateOf(call);
        const api = call.query.get('api');
        const status = call.query.get('status');
        const items = [...s.subscription.values()].filter((x) => visibleTo(call.principal, x, s.api.get(x.data.api)?.tenant) && (api === null || x.data.api === api) && (status === null || x.data.status === status));
        return { status: 200, body: { items: items.map(out), stateVersion: stateVersion(call) } };
      },
    },
    {
      method: 'POST', path: '/v1/subscriptions', summary: 'Request a subscription of a consumer to an API (status requested)', tag, status: 201, request: subscriptionRequest, response: itemResponse('subscription'),
      async handle(call) {
        const req = validate(subscriptionRequest, call.body);
        const s = stateOf(call);
        const consumer = s.consumer.get(req.consumer);
        if (!consumer || !canRead(call.principal, consumer.tenant)) throw new AdminError('admin_invalid_request', `consumer ${req.consumer} does not exist.`, [{ path: '/consumer', message: 'no such consumer' }]);
        assertCanWrite(call.principal, consumer.tenant);
        const api = s.api.get(req.api);
        const apiVisible = api && (api.data.visibility === 'public' || api.tenant === consumer.tenant);
        if (!api || (!apiVisible && !canRead(call.principal, api.tenant))) throw new AdminError('admin_invalid_request', `API ${req.api} does not exist.`, [{ path: '/api', message: 'no such API' }]);
        if (!apiVisible) throw new AdminError('admin_invalid_request', `API ${api.id} is published for tenant ${api.tenant} only.`, [{ path: '/api', message: 'not open to this consumer\'s tenant' }]);
        const id = `${consumer.id}.${api.id}`;
        const existing = s.subscription.get(id);
        if (existing && (existing.data.status === 'approved' || existing.data.status === 'requested')) throw new AdminError('admin_conflict', `subscription ${id} is already ${existing.data.status}.`);
        const after: Subscription = { id, consumer: consumer.id, api: api.id, status: 'requested', ...(req.note ? { note: req.note } : {}) };
        const info = await commit(call, `request subscription ${id}`, [{ kind: 'subscription', id, before: existing?.data ?? null, after }]);
        return { status: 201, body: { item: out(stateOf(call).subscription.get(id)!), stateVersion: info.version } };
      },
    },
    {
      method: 'GET', path: '/v1/subscriptions/{id}', summary: 'Read a subscription', tag, status: 200, response: itemResponse('subscription'),
      handle(call) { return { status: 200, body: { item: out(getSubscription(call).sub), stateVersion: stateVersion(call) } }; },
    },
    transition('approve', ['requested', 'rejected', 'revoked'], 'approved'),
    transition('reject', ['requested'], 'rejected'),
    transition('revoke', ['approved', 'requested'], 'revoked'),
  ];
}
