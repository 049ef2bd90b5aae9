import { randomBytes } from 'node:crypto';
import { demoAlerts } from '../observability/demo-alerts.ts';
import { hashApiKey } from '../credentials/directory.ts';
import { stringify } from 'yaml';
import { demoIssuer, demoIssuerPublicJwk, demoKeys } from './demo-keys.ts';
import { demoAdminTokens, demoGlobexRoute, demoPlaygroundRoute, demoTenancyConsumers, demoTenancyKeys, demoTenancySections } from './demo-tenancy.ts';

const day = 24 * 3600 * 1000;

const aiAuth = ['apiKey', 'jwt'];
const aiDemoRoutes = [
  { id: 'ai-chat', path: '/v1/chat/completions', methods: ['POST'], upstream: 'ai', auth: aiAuth },
  { id: 'ai-embeddings', path: '/v1/embeddings', methods: ['POST'], upstream: 'ai', auth: aiAuth },
  { id: 'ai-models', path: '/v1/models', methods: ['GET'], upstream: 'ai', auth: aiAuth },
  { id: 'ai-model', path: '/v1/models/{id}', methods: ['GET'], upstream: 'ai', auth: aiAuth },
  { id: 'ai-reverse', path: '/apis/reverse', methods: ['POST'], upstream: 'ai', auth: aiAuth, contentTypes: ['application/json'] },
];
const aiDemoSection = {
  // demo-echo runs inside the gateway and needs no key; a real provider would name its key
  // as a reference, e.g. apiKey: env://OPENAI_API_KEY or vault://demo/openai-key.
  providers: { demo: { type: 'demo-echo' } },
  models: { 'demo-echo': { provider: 'demo' } },
  prices: { 'demo-echo': { inputPerMillion: 1, outputPerMillion: 2 } },
  access: [{ consumer: 'acme-writer', models: ['demo-echo'] }],
  quotas: [{ id: 'demo-daily-tokens', by: 'consumer', period: 'day', tokens: 100000 }],
  prompts: { reverse: { route: 'ai-reverse', model: 'demo-echo', template: '{{text}}' } },
};
const key = (plain: string, id: string, scopes: string[], extra: Record<string, string> = {}) => ({
  id, hash: `sha256:${hashApiKey(plain)}`, prefix: plain.slice(0, 8), scopes, ...extra,
});

/**
 * The demo's config, written to the data directory on first start or --reset. Dates are
 * fixed at that moment ("expired yesterday"); the echo upstream's address comes from the
 * environment so the file stays valid whatever --port is used later.
 */
export function demoConfigYaml(now: number): string {
  const rw = ['orders:read', 'orders:write'];
  const config = {
    gateway: { host: '127.0.0.1', port: 8080, verbosity: 'standard', realm: 'pinpoint-demo' },
    upstreams: {
      echo: {
        targets: [{ url: '${PINPOINT_DEMO_ECHO_URL:-http://127.0.0.1:8082}' }],
        healthCheck: { path: '/healthz', intervalMs: 5000 },
      },
    },
    tenants: [{ id: 'acme' }, { id: 'globex' }],
    consumers: [
      { id: 'acme-writer', tenant: 'acme', name: 'Acme order writer', keys: [key(demoKeys.writer, 'key_demo_writer', rw)] },
      { id: 'acme-reader', tenant: 'acme', name: 'Acme order reader', keys: [key(demoKeys.reader, 'key_demo_reader', ['orders:read'])] },
      {
        id: 'acme-legacy', tenant: 'acme', name: 'Acme legacy integration',
        keys: [
          key(demoKeys.expired, 'key_demo_expired', rw, { expiresAt: new Date(now - day).toISOString() }),
          key(demoKeys.revoked, 'key_demo_revoked', rw, { revokedAt: new Date(now - day).toISOString(), revokedReason: 'leaked in a public repository (demo)' }),
        ],
      },
      { id: 'acme-suspended', tenant: 'acme', name: 'Acme suspended app', status: 'suspended', suspendedReason: 'unpaid invoice (demo)', keys: [key(demoKeys.suspended, 'key_demo_suspended', rw)] },
      ...demoTenancyConsumers(),
    ],
    issuers: [{
      issuer: demoIssuer.issuer, audiences: [demoIssuer.audience], algorithms: ['RS256'],
      jwks: { keys: [demoIssuerPublicJwk()] },
      // No skew in the demo, so that `pinpoint token --ttl -1` is expired at once as documented.
      clockSkewSeconds: 0,
    }],
    routes: [
      { id: 'orders', path: '/api/orders', methods: ['GET', 'POST'], upstream: 'echo', auth: ['apiKey', 'jwt'], scopes: { GET: ['orders:read'], POST: ['orders:write'] }, contentTypes: ['application/json'] },
      { id: 'order', path: '/api/orders/{id}', methods: ['GET', 'PUT', 'DELETE'], upstream: 'echo', auth: ['apiKey', 'jwt'], scopes: { GET: ['orders:read'], PUT: ['orders:write'], DELETE: ['orders:write'] } },
      { id: 'internal-report', path: '/api/internal/report', methods: ['GET'], upstream: 'echo', auth: ['apiKey'], ipAllow: ['10.0.0.0/8'] },
      { id: 'limited', path: '/api/limited', methods: ['GET'], upstream: 'echo', auth: ['apiKey'], rateLimit: { id: 'limited-per-key', limit: 3, windowSeconds: 60, by: 'key', algorithm: 'sliding-log' } },
      { id: 'backend-forbidden', path: '/api/backend-forbidden', methods: ['POST'], upstream: 'echo', auth: ['apiKey'] },
      { id: 'public-health', path: '/api/public/health', methods: ['GET'], upstream: 'echo' },
      // Web protections (DEMO.md): a WAF-guarded comments API and a cookie-session web app.
      {
        id: 'comments', path: '/api/comments', methods: ['POST'], upstream: 'echo', auth: ['apiKey'], maxBodyBytes: 65536,
        contentTypes: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'], waf: { mode: 'block', paranoia: 1 },
      },
      { id: 'web-login', path: '/web/login', methods: ['POST'], upstream: 'echo', session: { mode: 'login' }, contentTypes: ['application/x-www-form-urlencoded', 'application/json'], maxBodyBytes: 4096 },
      { id: 'web-profile', path: '/web/profile', methods: ['GET', 'POST'], upstream: 'echo', session: { mode: 'required' } },
      // AI gateway (DEMO.md "AI gateway"): the OpenAI API on /v1, served by `upstream: ai`.
      ...aiDemoRoutes,
      demoGlobexRoute,
      demoPlaygroundRoute,
    ],
    web: {
      // Signs session cookies and CSRF tokens; generated for this data directory.
      secret: randomBytes(32).toString('base64url'),
      users: ['alice', 'bob'],
      trustedOrigins: ['self'],
      sameSite: 'Lax',
      secureCookies: 'auto',
    },
    ai: aiDemoSection,
    alerts: demoAlerts,
    ...demoTenancySections(),
  };
  const header = [
    '# Pinpoint demo configuration: the "403 playground" (see DEMO.md / README).',
    '# Written by `npm start` on first run or with --reset; edit it and the gateway reloads it.',
    '# Keys are stored as sha256 hashes only. The demo keys are public on purpose:',
    `#   ${Object.values(demoKeys).join(', ')}`,
    `#   ${Object.values(demoTenancyKeys).join(', ')}; admin tokens ${Object.values(demoAdminTokens).join(', ')}`,
    '# The demo issuer key pair is DEVELOPMENT ONLY.',
    '',
  ].join('\n');
  return header + stringify(config, { lineWidth: 0 });
}
