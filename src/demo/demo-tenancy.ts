import { hashApiKey } from '../credentials/directory.ts';
import { demoIssuer } from './demo-keys.ts';

// The demo's tenants, APIs, subscriptions, policies and owners (../shared/DEMO.md, "Admin and
// tenants"). They seed the state store; the admin API changes them from there.

export const demoTenancyKeys = {
  pending: 'pk_demo_pending',
  reportingStaging: 'pk_demo_reporting_staging',
  reporting: 'pk_demo_reporting',
  globexReader: 'pk_globex_reader',
} as const;

/** Admin tokens of the demo (DEVELOPMENT ONLY, published on purpose). */
export const demoAdminTokens = {
  operator: 'adm_demo_operator',
  acme: 'adm_demo_acme',
  auditor: 'adm_demo_auditor',
} as const;

const key = (plain: string, id: string, scopes: string[]) => ({ id, hash: `sha256:${hashApiKey(plain)}`, prefix: plain.slice(0, 8), scopes });

/** The acme and globex consumers beyond the gateway core's demo keys. */
export function demoTenancyConsumers() {
  return [
    // Every subject of the demo issuer (alice, mallory, ...) acts through this app.
    { id: 'acme-web', tenant: 'acme', name: 'Acme web shop (demo issuer sign-in)', jwtSubjects: [`${demoIssuer.issuer}#*`] },
    { id: 'acme-newapp', tenant: 'acme', name: 'Acme new app', keys: [key(demoTenancyKeys.pending, 'key_demo_pending', ['orders:read'])] },
    { id: 'acme-reporting', tenant: 'acme', name: 'Acme reporting', keys: [key(demoTenancyKeys.reporting, 'key_demo_reporting', ['orders:read'])] },
    { id: 'acme-reporting-staging', tenant: 'acme', name: 'Acme reporting (staging)', keys: [key(demoTenancyKeys.reportingStaging, 'key_demo_reporting_staging', ['orders:read'])] },
    { id: 'globex-reader', tenant: 'globex', name: 'Globex inventory reader', keys: [key(demoTenancyKeys.globexReader, 'key_globex_reader', ['inventory:read'])] },
  ];
}

/** A route in no API yet: the README's "operate it" walk-through publishes it as a new tenant's API. */
export const demoPlaygroundRoute = { id: 'playground', path: '/playground/widgets', methods: ['GET'], upstream: 'echo', auth: ['apiKey'] };

export const demoGlobexRoute = { id: 'globex-inventory', path: '/globex/inventory', methods: ['GET'], upstream: 'echo', auth: ['apiKey'], scopes: { GET: ['inventory:read'] } };

const ordersRoutes = ['orders', 'order', 'internal-report', 'limited', 'backend-forbidden', 'public-health'];
const ordersApps = ['acme-writer', 'acme-reader', 'acme-legacy', 'acme-suspended', 'acme-web'];

export function demoTenancySections() {
  const approved = (consumer: string, api: string) => ({ id: `${consumer}.${api}`, consumer, api, status: 'approved' });
  return {
    apis: [
      {
        id: 'orders', tenant: 'acme', name: 'Acme orders', version: '1', status: 'published', routes: ordersRoutes,
        ownership: [{ id: 'order-owner', routes: ['order'], methods: ['PUT'], param: 'id', source: 'orders' }],
      },
      { id: 'inventory', tenant: 'globex', name: 'Globex inventory', version: '1', status: 'published', routes: ['globex-inventory'] },
    ],
    subscriptions: [
      ...[...ordersApps, 'acme-reporting', 'acme-reporting-staging'].map((c) => approved(c, 'orders')),
      { id: 'acme-newapp.orders', consumer: 'acme-newapp', api: 'orders', status: 'requested', note: 'requested by the new app team (demo)' },
      approved('globex-reader', 'inventory'),
    ],
    policies: [
      { id: 'orders-apps', tenant: 'acme', api: 'orders', description: 'Acme apps may use the whole orders API', subjects: { consumers: [...ordersApps, 'acme-newapp'] } },
      { id: 'orders-reporting', tenant: 'acme', api: 'orders', description: 'Reporting reads orders', subjects: { consumers: ['acme-reporting'] }, routes: ['orders'], methods: ['GET'] },
      { id: 'inventory-readers', tenant: 'globex', api: 'inventory', subjects: { consumers: ['globex-reader'] }, methods: ['GET'] },
    ],
    resourceOwners: [{ id: 'orders:1001', tenant: 'acme', owner: 'acme-writer' }],
    admin: {
      tokens: [
        { id: 'operator', hash: `sha256:${hashApiKey(demoAdminTokens.operator)}`, role: 'operator' },
        { id: 'acme-admin', hash: `sha256:${hashApiKey(demoAdminTokens.acme)}`, role: 'tenant-admin', tenant: 'acme' },
        { id: 'auditor', hash: `sha256:${hashApiKey(demoAdminTokens.auditor)}`, role: 'auditor' },
      ],
    },
  };
}
