import { z } from 'zod';

// The admin listener's config block. Admin tokens are stored as sha256 hashes, like API keys.

export const adminTokenSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits> (see `pinpoint key hash`)'),
  /** operator: every tenant; tenant-admin: its own tenant only; auditor: read-only, every tenant. */
  role: z.enum(['operator', 'tenant-admin', 'auditor']),
  tenant: z.string().optional(),
}).refine((t) => t.role !== 'tenant-admin' || t.tenant !== undefined, { message: 'a tenant-admin token needs a tenant', path: ['tenant'] });

export const adminSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** Default: the gateway's port + 1. */
  port: z.number().int().min(0).max(65535).optional(),
  tokens: z.array(adminTokenSchema).default([]),
});

export type AdminConfig = z.infer<typeof adminSchema>;
export type AdminToken = z.infer<typeof adminTokenSchema>;
