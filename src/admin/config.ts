import { z } from 'zod';
import { authThrottleSchema, type AuthThrottleSettings } from '../limits/auth-failure-throttle.ts';

// The admin listener's config block. Admin tokens are stored as sha256 hashes, like API keys.

export const adminTokenSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits> (see `pinpoint key hash`)'),
  /** operator: every tenant; tenant-admin: its own tenant only; auditor: read-only, every tenant. */
  role: z.enum(['operator', 'tenant-admin', 'auditor']),
  tenant: z.string().optional(),
}).refine((t) => t.role !== 'tenant-admin' || t.tenant !== undefined, { message: 'a tenant-admin token needs a tenant', path: ['tenant'] });

/** 10 wrong tokens from one address in 5 minutes lock it for 5 minutes; 100 from everyone lock unproven clients. */
export const adminAuthThrottleDefaults: AuthThrottleSettings = { maxFailures: 10, windowSeconds: 300, globalMaxFailures: 100, maxTrackedClients: 10_000 };

export const adminSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** Default: the gateway's port + 1. */
  port: z.number().int().min(0).max(65535).optional(),
  tokens: z.array(adminTokenSchema).default([]),
  /** Brute-force protection of admin tokens (docs/admin.md#protection-against-csrf-and-brute-force). */
  authThrottle: authThrottleSchema(adminAuthThrottleDefaults),
  /** Public origins (scheme://host[:port]) of a proxy in front of the console; the listener's own are always trusted. */
  trustedOrigins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin: scheme://host[:port], no path')).default([]),
});

export type AdminConfig = z.infer<typeof adminSchema>;
export type AdminToken = z.infer<typeof adminTokenSchema>;
