import { z } from 'zod';
import type { CompiledVault } from '../vault/compile-settings.ts';
import { describeVault, listVaults } from '../vault/admin-view.ts';
import type { AdminPrincipal } from './auth.ts';
import { AdminError } from './http.ts';
import type { AdminCall, AdminRoute } from './router.ts';

// Read-only views of the vaults this process serves (docs/admin.md "Vaults"). Vaults are not
// tenant-owned in the tenancy model: operators and auditors read every vault; a tenant admin
// reads only vaults whose settings name its tenant as `adminTenant`, and gets 404 for the rest
// (as for another tenant's entities). With no vault in the process the list is empty.

const firewall = z.object({ defaultAction: z.string(), ipRules: z.array(z.string()), bypass: z.string() });
const summary = z.object({
  name: z.string(), directoryTenant: z.string(), adminTenant: z.string().nullable(), hosts: z.array(z.string()),
  accessPolicies: z.number().int(), secrets: z.number().int(), deletedSecrets: z.number().int(), firewall, policyVersion: z.number().int(),
});
const limit = z.object({ requests: z.number().int(), windowSeconds: z.number() });
const detail = summary.extend({
  policies: z.array(z.object({ objectId: z.string(), app: z.string().nullable(), displayName: z.string().nullable(), permissions: z.array(z.string()) })),
  throttle: z.object({ read: limit, write: limit }),
  softDelete: z.object({ retentionDays: z.number().int(), purgeProtection: z.boolean(), recoveryLevel: z.string() }),
  secretList: z.array(z.object({
    name: z.string(), versions: z.number().int(), enabled: z.boolean(), contentType: z.string().nullable(), created: z.number(), updated: z.number(),
    notBefore: z.number().nullable(), expires: z.number().nullable(), deletedAt: z.number().nullable(), purgeAt: z.number().nullable(),
  })),
  audit: z.array(z.object({
    ts: z.string(), requestId: z.string(), operation: z.string(), app: z.string().nullable(), clientIp: z.string(), result: z.string(),
    status: z.number().int(), reason: z.string().nullable(), secretName: z.string().nullable(), policyVersion: z.number().int(),
  })),
});

function visibleTo(p: AdminPrincipal): (v: CompiledVault) => boolean {
  return (v) => p.role !== 'tenant-admin' || (p.tenant !== null && v.definition.adminTenant === p.tenant);
}

function auditLimit(call: AdminCall): number {
  const raw = call.query.get('audit');
  if (raw === null) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 500) throw new AdminError('admin_invalid_request', '?audit must be a whole number from 0 to 500.', [{ path: '?audit', message: 'out of range' }]);
  return n;
}

export function vaultRoutes(): AdminRoute[] {
  return [
    {
      method: 'GET', path: '/v1/vaults', tag: 'vaults', status: 200,
      summary: 'The vaults this process serves: firewall, counts of access policies and secrets (an empty list when no vault runs here; a tenant admin sees vaults whose adminTenant is its tenant)',
      response: z.object({ attached: z.boolean(), items: z.array(summary) }),
      handle(call) {
        const reader = call.deps.vaults.reader;
        return { status: 200, body: { attached: reader !== null, items: reader ? listVaults(reader, visibleTo(call.principal)) : [] } };
      },
    },
    {
      method: 'GET', path: '/v1/vaults/{name}', tag: 'vaults', status: 200,
      summary: 'One vault: access policies per app with permissions, firewall, throttle, soft delete, secret names with version counts (never values), recent audit records with their reasons',
      query: ['audit'],
      response: z.object({ item: detail }),
      handle(call) {
        const reader = call.deps.vaults.reader;
        const name = call.params.name!;
        const found = reader ? describeVault(reader, name, auditLimit(call)) : null;
        if (!found || !visibleTo(call.principal)(found.vault)) throw new AdminError('admin_not_found', `Vault ${name} does not exist${reader ? '' : ' (no vault runs in this process)'}.`);
        return { status: 200, body: { item: found.detail } };
      },
    },
  ];
}
