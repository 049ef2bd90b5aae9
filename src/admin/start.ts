import type { Gateway } from '../server/gateway.ts';
import type { FailureCounter } from '../limits/failure-counter.ts';
import type { Logger } from '../server/logger.ts';
import type { VaultAttachment } from '../vault/vault-attachment.ts';
import { startAdminServer, type AdminServer } from './server.ts';

/** The admin listener's port: the one asked for, else the config's, else the gateway's + 1 (0 stays 0: any free port). */
export function adminPortOf(gateway: Gateway, port?: number): number {
  return port ?? gateway.current().raw.admin?.port ?? (gateway.port === 0 ? 0 : gateway.port + 1);
}

/** Starts the admin listener when the config has an `admin` block; default port: the gateway's + 1. */
export async function startAdminIfConfigured(gateway: Gateway, logger: Logger, databaseFile: string, port?: number, vaults?: VaultAttachment, sharedAuthFailures?: FailureCounter): Promise<AdminServer | null> {
  const admin = gateway.current().raw.admin;
  if (!admin) return null;
  return startAdminServer({
    gateway, databaseFile, tokens: admin.tokens, logger, host: admin.host, vaults, authThrottle: admin.authThrottle, sharedAuthFailures, trustedOrigins: admin.trustedOrigins,
    port: adminPortOf(gateway, port),
  });
}
