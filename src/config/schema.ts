import { z } from 'zod';
import { bodySchemaSchema, routeCsrfSchema, routeSessionSchema, routeWafSchema, webSchema } from '../web/config-schema.ts';
import { aiSchema } from '../ai/ai-schema.ts';
import { adminSchema } from '../admin/config.ts';
import { tenancySeedSections } from '../tenancy/model.ts';
import { alertsSchema } from '../observability/alert-schema.ts';
import { apiKeyFields } from '../credentials/key-fields.ts';

// The declarative configuration, validated at the edge. Inside the gateway only the
// compiled form (config/compile.ts) is used; nothing here is read per request.

const durationSeconds = z.number().int().positive();
const methodName = z.string().regex(/^[A-Z]+$/, 'an upper-case HTTP method such as GET or POST');
const httpUrl = z.url({ protocol: /^https?$/ });

export const targetSchema = z.strictObject({
  url: httpUrl,
  weight: z.number().int().min(1).max(1000).default(1),
});

export const upstreamSchema = z.strictObject({
  targets: z.array(targetSchema).min(1),
  balance: z.enum(['round-robin', 'weighted']).default('round-robin'),
  /** Retries on another target, for idempotent methods without a streamed body only. */
  retries: z.number().int().min(0).max(5).default(1),
  retryOnStatus: z.array(z.number().int().min(500).max(599)).default([]),
  connections: z.number().int().min(1).max(1024).default(64),
  timeouts: z.strictObject({
    connectMs: z.number().int().positive().default(2000),
    responseHeadersMs: z.number().int().positive().default(30000),
    bodyIdleMs: z.number().int().positive().default(30000),
  }).default({ connectMs: 2000, responseHeadersMs: 30000, bodyIdleMs: 30000 }),
  healthCheck: z.strictObject({
    path: z.string().startsWith('/'),
    intervalMs: z.number().int().min(100).default(5000),
    timeoutMs: z.number().int().min(10).default(1000),
    unhealthyAfter: z.number().int().min(1).default(2),
    healthyAfter: z.number().int().min(1).default(1),
  }).optional(),
  passive: z.strictObject({
    failuresToEject: z.number().int().min(1).default(3),
    ejectMs: z.number().int().min(100).default(10000),
  }).default({ failuresToEject: 3, ejectMs: 10000 }),
});

export const apiKeySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a key id of letters, digits, _ . - (at most 64)'),
  ...apiKeyFields,
});

export const consumerSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a consumer id of letters, digits, _ . - (at most 64)'),
  tenant: z.string().optional(),
  name: z.string().optional(),
  status: z.enum(['active', 'suspended']).default('active'),
  suspendedReason: z.string().optional(),
  keys: z.array(apiKeySchema).default([]),
  /** JWT subjects (`sub`, or `iss#sub`) that act as this consumer. */
  jwtSubjects: z.array(z.string()).default([]),
});

export const tenantSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  status: z.enum(['active', 'suspended']).default('active'),
});

const jwkSchema = z.looseObject({ kty: z.string() });

export const issuerSchema = z.strictObject({
  issuer: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1),
  algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'])).min(1),
  jwks: z.strictObject({ keys: z.array(jwkSchema).min(1) }).optional(),
  jwksUri: httpUrl.optional(),
  /** For HS* algorithms only; at least 32 bytes (RFC 7518 3.2). */
  secret: z.string().optional(),
  clockSkewSeconds: z.number().int().min(0).max(300).default(30),
  maxTokenBytes: z.number().int().min(256).max(65536).default(8192),
  maxTokenAgeSeconds: z.number().int().positive().optional(),
  requireExp: z.boolean().default(true),
  scopeClaim: z.string().default('scope'),
  rolesClaim: z.string().default('roles'),
  subjectClaim: z.string().default('sub'),
});

const cidr = z.string().min(1);

/**
 * open: admit and note it in the trace; closed: refuse with 503 limiter_unavailable;
 * local: count in this process only (the limit then holds per node) until Redis is back.
 * Unset means open.
 */
const limiterFailMode = z.enum(['open', 'closed', 'local']).optional();

export const rateLimitSchema = z.strictObject({
  id: z.string().optional(),
  limit: z.number().int().positive(),
  windowSeconds: durationSeconds,
  by: z.enum(['key', 'consumer', 'tenant', 'ip', 'route']).default('key'),
  /**
   * sliding-log: a hard cap, at most `limit` in any window of `windowSeconds` (memory grows with limit).
   * gcra: a smooth rate of limit/window with a burst of `limit`; admits up to ~2x limit in one window.
   */
  algorithm: z.enum(['sliding-log', 'gcra']).default('gcra'),
  /** When the shared counter store (Redis) is unreachable: see docs/multinode.md. */
  failMode: limiterFailMode,
});

export const quotaSchema = z.strictObject({
  id: z.string().optional(),
  limit: z.number().int().positive(),
  period: z.enum(['day', 'month']),
  by: z.enum(['key', 'consumer', 'tenant']).default('consumer'),
  failMode: limiterFailMode,
});

const perMethod = z.record(z.string(), z.array(z.string().min(1)));

export const routeSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'a route id of letters, digits, _ . : - (at most 80)'),
  path: z.string().startsWith('/'),
  methods: z.array(methodName).min(1),
  host: z.string().optional(),
  /** Exact header values a request must carry, e.g. an API version header. */
  headers: z.record(z.string(), z.string()).optional(),
  upstream: z.string(),
  /** Path the upstream sees; {params} are substituted. Default: the request path. */
  upstreamPath: z.string().startsWith('/').optional(),
  auth: z.array(z.enum(['apiKey', 'jwt'])).default([]),
  /** Trusted issuers for this route (by issuer string); default all configured. */
  issuers: z.array(z.string()).optional(),
  scopes: perMethod.optional(),
  roles: perMethod.optional(),
  ipAllow: z.array(cidr).optional(),
  ipDeny: z.array(cidr).optional(),
  rateLimit: rateLimitSchema.optional(),
  quota: quotaSchema.optional(),
  maxBodyBytes: z.number().int().min(0).max(1024 * 1024 * 1024).optional(),
  contentTypes: z.array(z.string().min(1)).optional(),
  forwardCredential: z.boolean().default(false),
  /** Browser-facing protections (docs/web-protections.md). */
  session: routeSessionSchema.optional(),
  csrf: routeCsrfSchema.optional(),
  waf: routeWafSchema.optional(),
  bodySchema: bodySchemaSchema.optional(),
});

export const gatewaySchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  trustedProxies: z.array(cidr).default([]),
  ipAllow: z.array(cidr).optional(),
  ipDeny: z.array(cidr).optional(),
  verbosity: z.enum(['minimal', 'standard', 'debug']).default('standard'),
  realm: z.string().regex(/^[^"\\]*$/, 'no quotes or backslashes').default('pinpoint'),
  apiKeyHeader: z.string().default('x-api-key'),
  maxBodyBytes: z.number().int().min(0).default(1024 * 1024),
  maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(16384),
  requestTimeoutMs: z.number().int().min(100).default(30000),
  headersTimeoutMs: z.number().int().min(100).default(10000),
  keepAliveTimeoutMs: z.number().int().min(100).default(5000),
  problemTypeBase: z.string().default('urn:pinpoint:reason:'),
  /** Match paths case-insensitively: the canonical path is lower-cased (parameters included). */
  caseInsensitivePaths: z.boolean().default(false),
});

export const configSchema = z.strictObject({
  gateway: gatewaySchema.default(gatewaySchema.parse({})),
  upstreams: z.record(z.string(), upstreamSchema).default({}),
  tenants: z.array(tenantSchema).default([]),
  consumers: z.array(consumerSchema).default([]),
  issuers: z.array(issuerSchema).default([]),
  routes: z.array(routeSchema).default([]),
  web: webSchema.optional(),
  /** The AI gateway: model providers, models, prices, allow-lists, quotas, prompt APIs (docs/ai-gateway.md). */
  ai: aiSchema.optional(),
  /** Tenancy seed (APIs, policies, subscriptions, resource owners): see docs/admin.md. */
  ...tenancySeedSections,
  admin: adminSchema.optional(),
  /** Alert rules and their webhook: see docs/observability.md. */
  alerts: alertsSchema.optional(),
  log: z.strictObject({
    maxPending: z.number().int().min(100).default(50000),
    flushIntervalMs: z.number().int().min(1).max(5000).default(50),
    captureUpstreamErrorBytes: z.number().int().min(0).max(65536).default(2048),
    /** Traces older than this are deleted (0 keeps everything). */
    retentionHours: z.number().min(0).default(72),
  }).default({ maxPending: 50000, flushIntervalMs: 50, captureUpstreamErrorBytes: 2048, retentionHours: 72 }),
});

export type PinpointConfig = z.infer<typeof configSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
export type ConsumerConfig = z.infer<typeof consumerSchema>;
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;
export type IssuerConfig = z.infer<typeof issuerSchema>;
export type RateLimitConfig = z.infer<typeof rateLimitSchema>;
export type QuotaConfig = z.infer<typeof quotaSchema>;
export type GatewayConfig = z.infer<typeof gatewaySchema>;
