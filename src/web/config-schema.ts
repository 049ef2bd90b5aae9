import { z } from 'zod';

// Config of the browser-facing protections: the top-level `web` block and the route fields
// `session`, `csrf`, `waf` and `bodySchema`. Kept here so that config/schema.ts only gains
// one field per block.

const originSchema = z.union([z.literal('self'), z.url({ protocol: /^https?$/ }).refine((u) => URL.canParse(u) && new URL(u).origin === u, 'an origin: scheme://host[:port], no path or trailing slash')]);

export const webSchema = z.strictObject({
  /** HMAC key of session cookies and CSRF tokens; at least 32 characters of randomness. */
  secret: z.string().min(32, 'at least 32 characters (e.g. `openssl rand -base64 32`)'),
  sessionCookie: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('pp_session'),
  csrfCookie: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('pp_csrf'),
  csrfHeader: z.string().default('x-csrf-token'),
  csrfField: z.string().default('csrf_token'),
  sameSite: z.enum(['Lax', 'Strict']).default('Lax'),
  /** auto: Secure when the request came over HTTPS (TLS or X-Forwarded-Proto from a trusted proxy). */
  secureCookies: z.enum(['auto', 'always', 'never']).default('auto'),
  sessionTtlSeconds: z.number().int().min(1).default(3600),
  csrfTtlSeconds: z.number().int().min(1).default(3600),
  /** Origins allowed to send state-changing requests; `self` is the origin the request was addressed to. */
  trustedOrigins: z.array(originSchema).default(['self']),
  /** Users of the built-in demo login (no passwords: development only). */
  users: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/)).default([]),
});

export const routeSessionSchema = z.strictObject({
  /** login: the gateway answers this route itself and issues the session; required: a session cookie authenticates. */
  mode: z.enum(['login', 'required']),
});

export const routeCsrfSchema = z.union([z.literal(false), z.strictObject({
  /** Extra origins for this route, besides web.trustedOrigins. */
  trustedOrigins: z.array(originSchema).default([]),
  /** Check the signed token (not only Fetch Metadata and Origin); off on a login form, which has no session yet. */
  token: z.boolean().default(true),
})]);

export const wafExceptionSchema = z.strictObject({
  rule: z.string().min(1),
  /** The request part as the WAF names it, e.g. body.$.comment, query.q, header.user-agent; `*` for any. */
  part: z.string().min(1),
  reason: z.string().optional(),
});

export const routeWafSchema = z.strictObject({
  mode: z.enum(['block', 'detect']).default('block'),
  paranoia: z.number().int().min(1).max(4).default(1),
  exceptions: z.array(wafExceptionSchema).default([]),
  /** Rules switched off for the whole route: prefer an exception for one part. */
  disabledRules: z.array(z.string()).default([]),
});

/** A JSON Schema (draft 2020-12 or 07), compiled with ajv at load. */
export const bodySchemaSchema = z.record(z.string(), z.unknown());

export type WebConfig = z.infer<typeof webSchema>;
export type RouteWafConfig = z.infer<typeof routeWafSchema>;
export type RouteCsrfConfig = z.infer<typeof routeCsrfSchema>;
export type RouteSessionConfig = z.infer<typeof routeSessionSchema>;
