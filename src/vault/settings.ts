import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { authThrottleSchema, type AuthThrottleSettings } from '../limits/auth-failure-throttle.ts';

export const secretPermissions = ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore', 'purge'] as const;
export type SecretPermission = (typeof secretPermissions)[number];

const limitSchema = z.strictObject({
  requests: z.number().int().positive(),
  windowSeconds: z.number().positive(),
});

// Key Vault's documented service limit for secrets: 4,000 transactions per 10 s per vault.
const defaultLimit = { requests: 4000, windowSeconds: 10 };

/**
 * Apps are machines that retry: 20 failed client authentications from one address per minute lock
 * it for a minute (the Retry-After: 60 Entra ID sends); 200 from everyone lock unproven clients.
 */
export const clientAuthThrottleDefaults: AuthThrottleSettings = { maxFailures: 20, windowSeconds: 60, globalMaxFailures: 200, maxTrackedClients: 10_000 };

const hexDigest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a client secret digest is "sha256:" and 64 hex digits (see `hashClientSecret`)');

export const appSchema = z.strictObject({
  // No "/": `pinpoint serve --vault-identity TENANT/CLIENT_ID` splits there.
  clientId: z.string().min(1).max(128).regex(/^[^/]+$/, 'a client id has no "/"'),
  tenant: z.string().min(1),
  displayName: z.string().min(1).optional(),
  objectId: z.string().min(1),
  /** Digests of the accepted client secrets, "sha256:<hex>"; never the secrets themselves. */
  clientSecrets: z.array(hexDigest).default([]),
  /** PEM public keys or certificates for signed client assertions (private_key_jwt). */
  assertionKeys: z.array(z.string()).default([]),
  trustedService: z.boolean().default(false),
});

export const accessPolicySchema = z.strictObject({
  /** The object id (token `oid`); tokens are accepted only from the vault's own tenant. */
  objectId: z.string().min(1),
  secrets: z.array(z.enum(secretPermissions)),
});

export const vaultSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{1,22}[a-z0-9])$/, 'a vault name is 3-24 lower-case letters, digits and dashes'),
  tenant: z.string().min(1),
  /**
   * The Pinpoint tenant (of the admin API) that owns this vault: its tenant admins may read
   * the vault's settings in the admin API and console. Without it only operators and
   * auditors see the vault. (`tenant` above is the token service's directory tenant.)
   */
  adminTenant: z.string().min(1).optional(),
  /** Extra host names (besides <name>.vault.localhost) that address this vault. */
  hosts: z.array(z.string()).default([]),
  softDeleteRetentionDays: z.number().int().min(7).max(90).default(90),
  purgeProtection: z.boolean().default(false),
  accessPolicies: z.array(accessPolicySchema).default([]),
  firewall: z.strictObject({
    defaultAction: z.enum(['Allow', 'Deny']).default('Allow'),
    ipRules: z.array(z.string()).default([]),
    bypass: z.enum(['AzureServices', 'None']).default('AzureServices'),
  }).default({ defaultAction: 'Allow', ipRules: [], bypass: 'AzureServices' }),
  throttle: z.strictObject({
    read: limitSchema.default(defaultLimit),
    write: limitSchema.default(defaultLimit),
  }).default({ read: defaultLimit, write: defaultLimit }),
});

export const vaultSettingsSchema = z.strictObject({
  /** The token audience the vaults accept; also the `resource` of the 401 challenge. */
  resource: z.string().url().default('https://vault.localhost'),
  /** The vault that answers for 127.0.0.1 and localhost. */
  defaultVault: z.string().optional(),
  tokenService: z.strictObject({
    tenants: z.array(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/)).min(1),
    /** Other resources tokens may be issued for (a token for one is refused by the vaults). */
    extraResources: z.array(z.string().url()).default([]),
    tokenLifetimeSeconds: z.number().int().min(60).max(86_400).default(3600),
    rotateSigningKeyAfterHours: z.number().positive().default(24 * 7),
    clockToleranceSeconds: z.number().int().min(0).max(600).default(60),
    /** Brute-force protection of client secrets and assertions (docs/vault.md#client-secret-guessing). */
    clientAuthThrottle: authThrottleSchema(clientAuthThrottleDefaults),
  }),
  apps: z.array(appSchema).default([]),
  vaults: z.array(vaultSchema).min(1),
});

export type VaultSettings = z.infer<typeof vaultSettingsSchema>;
export type VaultDefinition = z.infer<typeof vaultSchema>;
export type AppDefinition = z.infer<typeof appSchema>;

export class VaultSettingsError extends Error {}

/** Validates the vault settings once, at load; a problem names its path in the document. */
export function parseVaultSettings(value: unknown, source: string): VaultSettings {
  const result = vaultSettingsSchema.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new VaultSettingsError(`invalid vault settings:\n${lines.join('\n')}`);
  }
  const s = result.data;
  const tenants = new Set(s.tokenService.tenants);
  const problems: string[] = [];
  const names = new Set<string>();
  for (const v of s.vaults) {
    if (names.has(v.name)) problems.push(`vault "${v.name}" is defined twice`);
    names.add(v.name);
    if (!tenants.has(v.tenant)) problems.push(`vault "${v.name}" names tenant "${v.tenant}", which is not in tokenService.tenants`);
  }
  for (const a of s.apps) if (!tenants.has(a.tenant)) problems.push(`app "${a.clientId}" names tenant "${a.tenant}", which is not in tokenService.tenants`);
  if (s.defaultVault && !names.has(s.defaultVault)) problems.push(`defaultVault "${s.defaultVault}" is not a vault`);
  if (problems.length) throw new VaultSettingsError(`invalid vault settings:\n${problems.map((p) => `  ${source}: ${p}`).join('\n')}`);
  return s;
}

/** The settings and the exact text they were parsed from (one read: the version is of what was parsed). */
export function readVaultSettingsFile(file: string): { settings: VaultSettings; text: string } {
  const text = readFileSync(file, 'utf8');
  return { settings: parseVaultSettings(parse(text) as unknown, file), text };
}
