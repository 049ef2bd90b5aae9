import { hashApiKey } from '../../src/credentials/directory.ts';
import { startAdminServer, type AdminServer } from '../../src/admin/server.ts';
import { silentLogger } from '../../src/server/logger.ts';
import { call, keyEntry, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';

// A gateway and its admin listener on loopback, with two tenants: acme publishes `shop`,
// globex publishes `stock`. Tests drive both through real HTTP.

export const keys = {
  buyer: 'pk_test_buyer', auditorApp: 'pk_test_reports', reportsStaging: 'pk_test_reports_staging', stranger: 'pk_test_stranger',
  pending: 'pk_test_pending', globex: 'pk_test_globex', blocked: 'pk_test_blocked',
} as const;

export const tokens = { operator: 'adm_test_operator', acme: 'adm_test_acme', globex: 'adm_test_globex', auditor: 'adm_test_auditor' } as const;

const tok = (id: string, plain: string, role: string, tenant?: string) => ({ id, hash: `sha256:${hashApiKey(plain)}`, role, ...(tenant ? { tenant } : {}) });

export function tenancyConfig(upstreamUrl: string) {
  return {
    gateway: { verbosity: 'standard' },
    upstreams: { backend: { targets: [{ url: upstreamUrl }] } },
    tenants: [{ id: 'acme' }, { id: 'globex' }],
    consumers: [
      { id: 'acme-buyer', tenant: 'acme', name: 'Acme buyer', keys: [keyEntry(keys.buyer, 'key_buyer', ['shop:read', 'shop:write'])] },
      { id: 'acme-reports', tenant: 'acme', name: 'Acme reports', keys: [keyEntry(keys.auditorApp, 'key_reports', ['shop:read'])] },
      { id: 'acme-reports-staging', tenant: 'acme', name: 'Acme reports (staging)', keys: [keyEntry(keys.reportsStaging, 'key_reports_staging', ['shop:read'])] },
      { id: 'acme-stranger', tenant: 'acme', name: 'Unsubscribed app', keys: [keyEntry(keys.stranger, 'key_stranger', ['shop:read'])] },
      { id: 'acme-pending', tenant: 'acme', keys: [keyEntry(keys.pending, 'key_pending', ['shop:read'])] },
      { id: 'acme-blocked', tenant: 'acme', keys: [keyEntry(keys.blocked, 'key_blocked', ['shop:read', 'shop:write'], { roles: ['clerk'] })] },
      { id: 'globex-app', tenant: 'globex', keys: [keyEntry(keys.globex, 'key_globex', ['stock:read'])] },
    ],
    routes: [
      { id: 'items', path: '/shop/items', methods: ['GET', 'POST'], upstream: 'backend', auth: ['apiKey'] },
      { id: 'item', path: '/shop/items/{id}', methods: ['GET', 'PUT'], upstream: 'backend', auth: ['apiKey'] },
      { id: 'stock', path: '/stock', methods: ['GET'], upstream: 'backend', auth: ['apiKey'] },
      { id: 'open', path: '/open', methods: ['GET'], upstream: 'backend' },
    ],
    apis: [
      { id: 'shop', tenant: 'acme', routes: ['items', 'item'], ownership: [{ id: 'item-owner', routes: ['item'], methods: ['PUT'], param: 'id', source: 'items' }] },
      { id: 'stock', tenant: 'globex', routes: ['stock'] },
    ],
    subscriptions: [
      ...['acme-buyer', 'acme-reports', 'acme-reports-staging', 'acme-blocked'].map((c) => ({ id: `${c}.shop`, consumer: c, api: 'shop', status: 'approved' })),
      { id: 'acme-pending.shop', consumer: 'acme-pending', api: 'shop', status: 'requested' },
      { id: 'globex-app.stock', consumer: 'globex-app', api: 'stock', status: 'approved' },
    ],
    policies: [
      { id: 'buyers', tenant: 'acme', api: 'shop', subjects: { consumers: ['acme-buyer', 'acme-pending'] } },
      { id: 'reports-read', tenant: 'acme', api: 'shop', subjects: { consumers: ['acme-reports'] }, routes: ['items'], methods: ['GET'] },
      { id: 'clerks', tenant: 'acme', api: 'shop', subjects: { roles: ['clerk'] } },
      { id: 'no-writes-for-blocked', tenant: 'acme', api: 'shop', effect: 'deny', subjects: { consumers: ['acme-blocked'] }, methods: ['POST'] },
      { id: 'stock-readers', tenant: 'globex', api: 'stock', subjects: { consumers: ['globex-app'] } },
    ],
    resourceOwners: [{ id: 'items:7', tenant: 'acme', owner: 'acme-buyer' }],
    admin: { tokens: [tok('op', tokens.operator, 'operator'), tok('acme-admin', tokens.acme, 'tenant-admin', 'acme'), tok('globex-admin', tokens.globex, 'tenant-admin', 'globex'), tok('audit', tokens.auditor, 'auditor')] },
  };
}

export interface TenancyEnv {
  readonly gw: TestGateway;
  readonly admin: AdminServer;
  readonly upstream: TestUpstream;
  /** A data-plane call with an API key. */
  get(path: string, key?: string, init?: RequestInit): Promise<Answer>;
  /** An admin call with an admin token. */
  adm(method: string, path: string, token: string | null, body?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

export async function startTenancyEnv(): Promise<TenancyEnv> {
  const upstream = await startUpstream();
  const gw = await startTestGateway(tenancyConfig(upstream.url));
  const admin = await startAdminServer({ gateway: gw.gateway, databaseFile: gw.databaseFile, tokens: gw.gateway.current().raw.admin!.tokens, port: 0, logger: silentLogger });
  return {
    gw, admin, upstream,
    get: (path, key, init = {}) => call(`${gw.url}${path}`, { ...init, headers: { ...(key ? { 'x-api-key': key } : {}), ...(init.headers as Record<string, string> | undefined) } }),
    adm: (method, path, token, body) => call(`${admin.url}${path}`, {
      method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    }),
    async close() { await admin.close(); await gw.close(); await upstream.close(); },
  };
}
