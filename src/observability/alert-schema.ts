import { z } from 'zod';

// Alert rules in the config file (docs/observability.md). Evaluated over the call log of the
// node's store by one process at a time (the leader: src/observability/alerts.ts).

const ruleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only'),
  description: z.string().optional(),
  /** Which requests count towards the rule at all (the denominator of a rate). Empty: every request. */
  scope: z.strictObject({
    routes: z.array(z.string()).optional(),
    consumers: z.array(z.string()).optional(),
    tenants: z.array(z.string()).optional(),
  }).default({}),
  /** Which of those are the bad ones (the numerator). At least one field. */
  match: z.strictObject({
    status: z.array(z.number().int().min(100).max(599)).optional(),
    codes: z.array(z.string()).optional(),
    origin: z.enum(['gateway', 'upstream']).optional(),
  }).refine((m) => m.status !== undefined || m.codes !== undefined || m.origin !== undefined, 'give status, codes or origin'),
  /** One alert per value of this field (e.g. one per route), or one for everything. */
  groupBy: z.enum(['none', 'route', 'consumer', 'tenant', 'clientIp', 'credential']).default('none'),
  windowSeconds: z.number().positive().max(86400).default(300),
  /** Fires when the matching share of the scope's requests exceeds `rate` (0..1) ... */
  rate: z.number().min(0).max(1).optional(),
  /** ... or when more than `count` matching requests fall in the window. */
  count: z.number().int().min(0).optional(),
  /** A rate needs at least this many requests in the window to mean anything. */
  minRequests: z.number().int().min(1).default(10),
}).refine((r) => (r.rate === undefined) !== (r.count === undefined), 'give exactly one of rate or count');

export const alertsSchema = z.strictObject({
  /** Notifications are POSTed here as JSON (firing and resolved); every one is also logged. */
  webhook: z.strictObject({
    url: z.url(),
    timeoutMs: z.number().int().min(100).max(60000).default(5000),
    headers: z.record(z.string(), z.string()).default({}),
    /** Signs each POST (X-Pinpoint-Signature, HMAC-SHA256); `env://NAME` reads it from the environment. */
    secret: z.string().min(16, 'at least 16 characters (or env://NAME)').optional(),
    /** Attempts after the first, on 5xx, 429, connection errors and timeouts. */
    retries: z.number().int().min(0).max(10).default(3),
    /** Wait before the first retry, doubled for each next one (at most 30 s). */
    backoffMs: z.number().int().min(10).max(60000).default(1000),
  }).optional(),
  /** How often the rules are evaluated. */
  evaluateIntervalMs: z.number().int().min(10).max(600000).default(10000),
  rules: z.array(ruleSchema).default([]),
});

export type AlertsConfig = z.infer<typeof alertsSchema>;
export type AlertRuleConfig = z.infer<typeof ruleSchema>;
