import type { FailureCounter } from '../../src/limits/failure-counter.ts';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { readAnswer, type RawAnswer } from '../support/raw-answer.ts';
import { SecretClient } from '@azure/keyvault-secrets';
import { stringify } from 'yaml';
import { hashClientSecret } from '../../src/identity/apps.ts';
import type { CallLogWriter } from '../../src/log/call-log-writer.ts';
import type { Logger } from '../../src/server/logger.ts';
import { createCa, issueServerCert } from '../../src/tls/demo-ca.ts';
import { startVaultServer, type VaultServer } from '../../src/vault/vault-server.ts';
import type { SecretPermission } from '../../src/vault/settings.ts';

export const TENANT = 'test-tenant';
export const allPermissions: SecretPermission[] = ['get', 'list', 'set', 'delete', 'recover', 'backup', 'restore', 'purge'];

export interface TestApp { clientId: string; secret: string; objectId: string; displayName?: string; trustedService?: boolean }

export const app = (clientId: string, extra: Partial<TestApp> = {}): TestApp => ({
  clientId, secret: `${clientId}-secret`, objectId: `00000000-0000-4000-8000-${createHash('sha256').update(clientId).digest('hex').slice(0, 12)}`, ...extra,
});

/** Vault settings as YAML-ready data, with client secrets stored as digests as in production. */
export function settingsFor(apps: TestApp[], vaults: object[], extra: object = {}): object {
  return {
    resource: 'https://vault.localhost',
    tokenService: { tenants: [TENANT], extraResources: ['https://management.localhost'] },
    apps: apps.map((a) => ({ clientId: a.clientId, tenant: TENANT, objectId: a.objectId, displayName: a.displayName ?? a.clientId, clientSecrets: [`sha256:${hashClientSecret(a.secret)}`], trustedService: a.trustedService ?? false })),
    vaults,
    ...extra,
  };
}

let tlsCache: Promise<{ caPem: string; certPem: string; keyPem: string }> | null = null;
/** One CA and certificate per test process: generated for the test, trusted only by its clients. */
export function testTls(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  tlsCache ??= (async () => {
    const ca = await createCa('Pinpoint test CA');
    const leaf = await issueServerCert(ca, ['127.0.0.1', 'localhost', '*.vault.localhost', 'vault.localhost']);
    return { caPem: ca.pem, ...leaf };
  })();
  return tlsCache;
}

export interface TestVault {
  readonly vault: VaultServer;
  readonly dir: string;
  readonly url: string;
  readonly caPem: string;
  readonly settingsFile: string;
  readonly masterKey: Buffer;
  rewrite(settings: object): void;
  close(): Promise<void>;
}

export async function startTestVault(settings: object, options: { callLog?: CallLogWriter | null; dir?: string; masterKey?: Buffer; port?: number; logger?: Logger; sharedAuthFailures?: FailureCounter } = {}): Promise<TestVault> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pinpoint-vault-'));
  const settingsFile = join(dir, 'vault.yaml');
  writeFileSync(settingsFile, stringify(settings));
  const tls = await testTls();
  const masterKey = options.masterKey ?? randomBytes(32);
  const vault = await startVaultServer({
    settingsFile, databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'vault-audit.log'), masterKey,
    tls, port: options.port ?? 0, callLog: options.callLog ?? null, watch: false, ...(options.logger ? { logger: options.logger } : {}), sharedAuthFailures: options.sharedAuthFailures,
  });
  return {
    vault, dir, url: vault.url, caPem: tls.caPem, settingsFile, masterKey,
    rewrite(s) { writeFileSync(settingsFile, stringify(s)); const r = vault.reload(); if (!r.ok) throw new Error(r.message); },
    async close() { await vault.close(); if (!options.dir) rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The real SDK: ClientSecretCredential against our token service, SecretClient against the vault. */
export function sdkClient(t: TestVault, a: TestApp, options: { vaultUrl?: string; maxRetries?: number } = {}): SecretClient {
  const tlsOptions = { ca: t.caPem };
  const credential = new ClientSecretCredential(TENANT, a.clientId, a.secret, {
    authorityHost: t.url, disableInstanceDiscovery: true, tlsOptions, retryOptions: { maxRetries: 0 },
  });
  return new SecretClient(options.vaultUrl ?? t.url, credential, {
    disableChallengeResourceVerification: true, tlsOptions,
    retryOptions: { maxRetries: options.maxRetries ?? 0 },
  });
}

/** A token straight from the token service over HTTPS (for raw requests and crafted cases). */
export async function fetchToken(t: TestVault, a: TestApp, scope = 'https://vault.localhost/.default'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await httpsRequest(t, `${t.url}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: a.clientId, client_secret: a.secret, scope }).toString(),
  });
  return { status: res.status, json: res.json };
}

export type { RawAnswer };

/** node:https with the test CA; `host` overrides the Host header (to address a vault by name). */
export async function httpsRequest(t: { caPem: string }, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  const { request } = await import('node:https');
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: init.method ?? 'GET', headers: init.headers, ca: t.caPem, servername: init.headers?.host?.replace(/:\d+$/, '') ?? (u.hostname === '127.0.0.1' ? undefined : u.hostname) }, (res) => { readAnswer(res).then(resolve, reject); });
    req.on('error', reject);
    req.end(init.body);
  });
}
