import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashClientSecret } from '../identity/apps.ts';
import type { CallLogWriter } from '../log/call-log-writer.ts';
import type { Logger } from '../server/logger.ts';
import { ensureDemoTls, VAULT_TLS_NAMES } from '../tls/demo-ca.ts';
import { loadMasterKey } from '../vault/master-key.ts';
import { secretPermissions } from '../vault/settings.ts';
import type { FailureCounter } from '../limits/failure-counter.ts';
import { startVaultServer, type VaultServer } from '../vault/vault-server.ts';

// The demo's vault section (DEMO.md "Vault"): names, secrets and policies are a contract.
export const DEMO_TENANT = 'demo-tenant';
export const demoApps = [
  { clientId: 'demo-app', secret: 'demo-app-secret', objectId: '6f3c9a40-1b2d-4e5f-8a9b-0c1d2e3f4a01' },
  { clientId: 'demo-readonly', secret: 'demo-readonly-secret', objectId: '6f3c9a40-1b2d-4e5f-8a9b-0c1d2e3f4a02' },
  { clientId: 'demo-nopolicy', secret: 'demo-nopolicy-secret', objectId: '6f3c9a40-1b2d-4e5f-8a9b-0c1d2e3f4a03' },
] as const;
export const DEMO_SECRET = { vault: 'demo', name: 'greeting', value: 'hello from pinpoint' } as const;

/** The vault settings of the demo, as written to <data-dir>/vault.yaml (client secrets as digests). */
export function demoVaultSettings(): object {
  const [app, readonly] = demoApps;
  return {
    resource: 'https://vault.localhost',
    defaultVault: 'demo',
    tokenService: { tenants: [DEMO_TENANT], extraResources: ['https://management.localhost'] },
    apps: demoApps.map((a) => ({ clientId: a.clientId, tenant: DEMO_TENANT, displayName: a.clientId, objectId: a.objectId, clientSecrets: [`sha256:${hashClientSecret(a.secret)}`] })),
    vaults: [
      { name: 'demo', tenant: DEMO_TENANT, accessPolicies: [
        { objectId: app.objectId, secrets: [...secretPermissions] },
        { objectId: readonly.objectId, secrets: ['get', 'list'] },
      ] },
      { name: 'locked', tenant: DEMO_TENANT, accessPolicies: [{ objectId: app.objectId, secrets: [...secretPermissions] }],
        firewall: { defaultAction: 'Deny', ipRules: ['10.0.0.0/8'], bypass: 'AzureServices' } },
    ],
  };
}

export interface DemoVault {
  readonly vault: VaultServer;
  readonly caFile: string;
  readonly settingsFile: string;
}

/**
 * Starts the demo vault on its HTTPS port: the demo CA in <data-dir>/tls (ca.pem for clients),
 * a master key file made on first start (PINPOINT_VAULT_MASTER_KEY overrides it), and the
 * secret `greeting` in vault `demo` when it does not exist yet.
 */
export async function startDemoVault(options: { dataDir: string; port: number; callLog: CallLogWriter | null; configVersion?: () => number; logger?: Logger; sharedAuthFailures?: FailureCounter | undefined }): Promise<DemoVault> {
  const tls = await ensureDemoTls(join(options.dataDir, 'tls'), VAULT_TLS_NAMES);
  const settingsFile = join(options.dataDir, 'vault.yaml');
  if (!existsSync(settingsFile)) writeFileSync(settingsFile, `# Pinpoint demo vault: apps, vaults, access policies, firewall. Edit it: the vault reloads it.\n${stringify(demoVaultSettings())}`);
  const masterKey = loadMasterKey({ file: join(options.dataDir, 'vault-master.key'), createIfMissing: true });
  const vault = await startVaultServer({
    settingsFile, databaseFile: join(options.dataDir, 'vault.db'), auditFile: join(options.dataDir, 'vault-audit.log'), masterKey,
    tls, port: options.port, callLog: options.callLog, ...(options.configVersion ? { configVersion: options.configVersion } : {}),
    ...(options.logger ? { logger: options.logger } : {}), sharedAuthFailures: options.sharedAuthFailures,
    ...(options.port !== 0 ? { authorityHosts: [`127.0.0.1:${options.port}`, `localhost:${options.port}`] } : {}),
  });
  if (vault.store.nameState(DEMO_SECRET.vault, DEMO_SECRET.name) === 'absent') {
    vault.store.setSecret(DEMO_SECRET.vault, DEMO_SECRET.name, crypto.randomUUID().replaceAll('-', ''), DEMO_SECRET.value,
      { enabled: true, nbf: null, exp: null, contentType: 'text/plain', tags: null }, Math.floor(Date.now() / 1000));
  }
  return { vault, caFile: tls.caFile, settingsFile };
}
