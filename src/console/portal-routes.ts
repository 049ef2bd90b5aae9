import { z } from 'zod';
import type { AdminPrincipal } from '../admin/auth.ts';
import { stateOf } from '../admin/entities.ts';
import { AdminError } from '../admin/http.ts';
import type { AdminCall, AdminRoute } from '../admin/router.ts';
import type { Api, Policy, Stored } from '../tenancy/model.ts';
import { reasonCodes } from '../reasons/catalogue.ts';
import { apiDoc, apiOpenApi, reasonDoc } from './catalogue.ts';

// The developer portal's endpoints on the admin listener: the catalogue of APIs a principal
// may see (its tenant's, and public ones of other tenants) with generated documentation and
// an OpenAPI document per API. Subscribing goes through POST /v1/subscriptions.

function listable(p: AdminPrincipal, api: Api): boolean {
  if (api.status === 'draft' && p.role === 'tenant-admin' && p.tenant !== api.tenant) return false;
  return p.role !== 'tenant-admin' || p.tenant === api.tenant || api.visibility === 'public';
}

function docOf(call: AdminCall, api: Api) {
  const policies = [...(stateOf(call).policy as Map<string, Stored<'policy'>>).values()]
    .map((s) => s.data as Policy)
    // Another tenant's policy subjects are that tenant's business.
    .filter((p) => call.principal.role !== 'tenant-admin' || p.tenant === call.principal.tenant);
  return apiDoc(api, call.deps.gateway.current().raw.routes, policies);
}

function findApi(call: AdminCall): Api {
  const s = (stateOf(call).api as Map<string, Stored<'api'>>).get(call.params.id!);
  const api = s?.data as Api | undefined;
  // Invisible and absent answer alike, as everywhere on the admin API.
  if (!api || !listable(call.principal, api)) throw new AdminError('admin_not_found', `API ${call.params.id} does not exist.`);
  return api;
}

const docSchema = z.object({ id: z.string(), tenant: z.string(), name: z.string(), version: z.string(), status: z.string(), visibility: z.string(), endpoints: z.array(z.unknown()) }).loose();

export function portalRoutes(): AdminRoute[] {
  return [
    {
      method: 'GET', path: '/v1/reasons', summary: 'The reason catalogue: every code with its status, meaning, hint, causes and fixes', tag: 'portal', status: 200,
      response: z.object({ items: z.array(z.object({ code: z.string(), status: z.number().int(), title: z.string(), hint: z.string(), causes: z.array(z.string()), fixes: z.array(z.string()) })) }),
      handle() { return { status: 200, body: { items: reasonCodes.map(reasonDoc) } }; },
    },
    {
      method: 'GET', path: '/v1/catalogue', summary: 'The developer portal: the APIs this principal may read or subscribe to, with their documentation', tag: 'portal', status: 200,
      response: z.object({ items: z.array(docSchema) }),
      handle(call) {
        const apis = [...(stateOf(call).api as Map<string, Stored<'api'>>).values()].map((s) => s.data as Api).filter((a) => listable(call.principal, a));
        return { status: 200, body: { items: apis.map((a) => docOf(call, a)) } };
      },
    },
    {
      method: 'GET', path: '/v1/catalogue/{id}', summary: 'One API\'s documentation: endpoints, auth, scopes, roles, limits and every reason code with its meaning and fix', tag: 'portal', status: 200,
      response: z.object({ item: docSchema }),
      handle(call) { return { status: 200, body: { item: docOf(call, findApi(call)) } }; },
    },
    {
      method: 'GET', path: '/v1/catalogue/{id}/openapi.json', summary: 'One API\'s OpenAPI 3.1 document, as the gateway serves it', tag: 'portal', status: 200,
      response: z.object({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }).loose(),
      handle(call) {
        const g = call.deps.gateway;
        const cfg = g.current().gateway;
        return { status: 200, body: apiOpenApi(docOf(call, findApi(call)), `http://${cfg.host}:${g.port}`, cfg.apiKeyHeader) };
      },
    },
  ];
}
