import { request } from 'node:https';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashClientSecret } from '../../src/identity/apps.ts';
import { createCa, issueServerCert } from '../../src/tls/demo-ca.ts';

// The vault as a benchmark target, shared by bench/vault-get-secret.ts (standalone) and the
// `vault` system of bench/run.ts: one vault with the token service, an app with get/set on it
// and an app without any access policy (for the 403 check), a CA and a server certificate.

export const vaultApps = {
  allowed: { clientId: 'bench-app', secret: 'bench-app-secret', objectId: '0b0b0b0b-0000-4000-8000-00000000beef' },
  /** Known to the token service, absent from every access policy: its token must get 403. */
  noPolicy: { clientId: 'bench-app-nopolicy', secret: 'bench-app-nopolicy-secret', objectId: '0c0c0c0c-0000-4000-8000-00000000beef' },
} as const;

export const SECRET_PATH = '/secrets/bench-secret?api-version=7.5';
export const SECRET_VALUE = 'x'.repeat(64);

/** Writes vault.yaml, server.pem, server-key.pem and ca.pem into dir (once: kept if present). */
export async function prepareVaultDir(dir: string): Promise<void> {
  if (existsSync(join(dir, 'vault.yaml'))) return;
  const ca = await createCa('Pinpoint bench CA');
  const leaf = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
  writeFileSync(join(dir, 'ca.pem'), ca.pem);
  writeFileSync(join(dir, 'server.pem'), leaf.certPem);
  writeFileSync(join(dir, 'server-key.pem'), leaf.keyPem);
  const { allowed, noPolicy } = vaultApps;
  // The throttle is raised out of the way: this measures the vault, not its limit (4,000 per 10 s by default).
  writeFileSync(join(dir, 'vault.yaml'), stringify({
    tokenService: { tenants: ['bench'] },
    apps: [allowed, noPolicy].map((a) => ({ clientId: a.clientId, tenant: 'bench', objectId: a.objectId, clientSecrets: [`sha256:${hashClientSecret(a.secret)}`] })),
    vaults: [{ name: 'bench', tenant: 'bench', accessPolicies: [{ objectId: allowed.objectId, secrets: ['get', 'set'] }], throttle: { read: { requests: 100_000_000, windowSeconds: 10 }, write: { requests: 100_000_000, windowSeconds: 10 } } }],
  }));
}

export interface HttpsAnswer { status: number; json: Record<string, unknown> }

/** One HTTPS request on a new connection, trusting only the bench CA. */
export function httpsCall(base: string, caPem: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const req = request({ agent: false, hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: init.method ?? 'GET', headers: init.headers, ca: caPem, timeout: 5_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => {
        let json: Record<string, unknown>;
        try { json = JSON.parse(text || '{}') as Record<string, unknown>; } catch { json = { text }; }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A bearer token from the vault's own token service (client credentials). */
export async function vaultToken(base: string, caPem: string, app: { clientId: string; secret: string }): Promise<HttpsAnswer & { token: string | null }> {
  const a = await httpsCall(base, caPem, '/bench/oauth2/v2.0/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.secret, scope: 'https://vault.localhost/.default' }).toString() });
  return { ...a, token: typeof a.json.access_token === 'string' ? a.json.access_token : null };
}
