import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { watchConfigFile } from '../config/watch.ts';
import { SigningKeyRing } from '../identity/signing-keys.ts';
import { createTokenService, isTokenServicePath } from '../identity/token-service.ts';
import { AccessTokenVerifier } from '../identity/verify-access-token.ts';
import type { CallLogWriter } from '../log/call-log-writer.ts';
import { newRequestId } from '../log/request-id.ts';
import { canonicalIp } from '../net/cidr-set.ts';
import type { Logger } from '../server/logger.ts';
import { silentLogger } from '../server/logger.ts';
import { VaultAccess } from './access.ts';
import { VaultAuditLog } from './audit.ts';
import { compileVaultSettings, vaultForHost, type CompiledVaultSettings } from './compile-settings.ts';
import { routeVaultRequest } from './operations.ts';
import { SecretSealer } from './secret-crypto.ts';
import { runSecretsOperation, type ApiAnswer } from './secrets-api.ts';
import { readVaultSettingsFile } from './settings.ts';
import { kvError } from './shapes.ts';
import { VaultStore } from './store.ts';
import { VaultThrottle } from './throttle.ts';
import type { FailureCounter } from '../limits/failure-counter.ts';
import { authGate } from '../limits/shared-auth-throttle.ts';
import { vaultTrace } from './vault-trace.ts';

export interface VaultServerOptions {
  /** YAML vault settings (apps, vaults, policies, firewall, throttle); reloaded when it changes. */
  readonly settingsFile: string;
  readonly databaseFile: string;
  readonly auditFile: string;
  readonly masterKey: Buffer;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly port: number;
  readonly host?: string;
  /** The gateway's call log: vault refusals land there so `pinpoint explain` covers them. */
  readonly callLog: CallLogWriter | null;
  /** The gateway config version to stamp on traces (explain compares it with the latest). */
  readonly configVersion?: () => number;
  readonly logger?: Logger;
  /** host:port values the token service answers as; default 127.0.0.1:PORT and localhost:PORT. */
  readonly authorityHosts?: readonly string[];
  readonly watch?: boolean;
  /** With --redis: client-secret failures counted across every node or worker that serves the token service. */
  readonly sharedAuthFailures?: FailureCounter | undefined;
}

export interface VaultServer {
  readonly server: Server;
  readonly port: number;
  /** https://127.0.0.1:PORT: the default vault's URL and the token service's authority host. */
  readonly url: string;
  readonly keys: SigningKeyRing;
  readonly store: VaultStore;
  readonly audit: VaultAuditLog;
  current(): CompiledVaultSettings;
  reload(): { ok: boolean; version: number; message: string };
  close(): Promise<void>;
}

// 7.0-7.6, and the date-named versions newer SDKs send (e.g. 2025-07-01).
const SUPPORTED_API = /^(7\.[0-6](-preview(\.\d+)?)?|20[12]\d-[01]\d-[0-3]\d(-preview)?)$/;
const MAX_BODY = 256 * 1024;

/** The HTTPS listener that serves the token service and every vault (chosen by Host). */
export async function startVaultServer(options: VaultServerOptions): Promise<VaultServer> {
  const logger = options.logger ?? silentLogger;
  const sealer = new SecretSealer(options.masterKey);
  const store = new VaultStore(options.databaseFile, sealer);
  const audit = new VaultAuditLog(options.auditFile);
  const first = readVaultSettingsFile(options.settingsFile);
  const initial = first.settings;
  const initialVersion = store.recordPolicyVersion(first.text, options.settingsFile);
  const ts = initial.tokenService;
  const keys = await SigningKeyRing.open(store.signingKeyStore(), {
    rotateAfterSeconds: ts.rotateSigningKeyAfterHours * 3600,
    // A retired key stays published for a token lifetime plus clock tolerance: no live token is orphaned.
    overlapSeconds: ts.tokenLifetimeSeconds + ts.clockToleranceSeconds + 300,
  });
  const verifier = new AccessTokenVerifier(keys);
  const access = new VaultAccess(verifier, new VaultThrottle(), () => keys.generation * 1_000_000 + live.version);
  let authorityHosts: readonly string[] = options.authorityHosts ?? [];
  let live: CompiledVaultSettings = compileVaultSettings(initial, initialVersion, authorityHosts);
  const configVersion = options.configVersion ?? (() => 0);

  const tokenService = createTokenService({
    apps: () => live.apps, keys, resources: () => live.resources, authorityHosts: () => live.authorityHosts,
    tokenLifetimeSeconds: ts.tokenLifetimeSeconds,
    clientAuthThrottle: authGate('token-service', ts.clientAuthThrottle, options.sharedAuthFailures), logger,
    onTokenRequest: (e) => audit.write({
      ts: new Date().toISOString(), requestId: newRequestId(), vault: null, operation: 'TokenRequest',
      identity: e.clientId ? { appid: e.clientId, oid: e.objectId ?? '', tid: e.tenant } : null, clientIp: canonicalIp(e.clientIp || '0.0.0.0'),
      result: e.status === 200 ? 'success' : 'denied', status: e.status, durationMs: e.durationMs, reason: e.error, policyVersion: live.version,
    }),
  });

  const send = (res: ServerResponse, requestId: string, clientIp: string, status: number, body: string | null, headers: Record<string, string> = {}) => {
    res.writeHead(status, {
      ...(body !== null ? { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) } : { 'content-length': '0' }),
      'cache-control': 'no-cache', 'x-ms-request-id': requestId, 'x-request-id': requestId,
      'x-ms-keyvault-service-version': '1.9.0.0', 'x-ms-keyvault-region': 'local',
      'x-ms-keyvault-network-info': `conn_type=${clientIp.includes(':') ? 'Ipv6' : 'Ipv4'};addr=${clientIp};act_addr_fam=${clientIp.includes(':') ? 'InterNetworkV6' : 'InterNetwork'};`,
      ...headers,
    });
    res.end(body ?? undefined);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, bodyText: string): Promise<void> {
    const started = performance.now();
    const now = Date.now();
    const requestId = newRequestId(now);
    const clientIp = canonicalIp(req.socket.remoteAddress ?? '0.0.0.0');
    const clientRequestId = req.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string') res.setHeader('x-ms-client-request-id', clientRequestId.slice(0, 128));
    // A real query parser: keys may arrive percent-encoded (api%2Dversion) and are decoded here.
    let url: URL;
    try { url = new URL(req.url ?? '/', 'https://vault.invalid'); } catch { return send(res, requestId, clientIp, 400, kvError('BadParameter', 'The request URI is malformed.')); }
    const c = live;
    const vault = vaultForHost(c, req.headers.host);
    if (!vault) return send(res, requestId, clientIp, 404, kvError('VaultNotFound', `No vault answers for host '${req.headers.host ?? ''}'. Address a vault as https://<name>.vault.localhost:${port}; known vaults: ${[...c.vaults.keys()].join(', ')}.`));
    const route = routeVaultRequest(req.method ?? 'GET', url.pathname);
    if (route.kind === 'not_found') return send(res, requestId, clientIp, 404, kvError('NotFound', `No Key Vault secrets operation at ${url.pathname}.`));
    if (route.kind === 'method_not_allowed') return send(res, requestId, clientIp, 405, kvError('MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}; allowed: ${route.allow.join(', ')}.`), { allow: route.allow.join(', ') });
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) return send(res, requestId, clientIp, 400, kvError('BadParameter', 'The api-version query parameter is required (e.g. ?api-version=7.5).'));
    if (!SUPPORTED_API.test(apiVersion)) return send(res, requestId, clientIp, 400, kvError('BadParameter', `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (7.6).`));
    const op = route.op;
    const decision = await access.decide({ settings: c, vault, op, authorization: req.headers.authorization, clientIp, now });
    const claims = decision.claims;
    const identity = claims ? { appid: claims.appid, oid: claims.oid, tid: claims.tid } : null;
    const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000;
    if (decision.deny) {
      const d = decision.deny;
      send(res, requestId, clientIp, d.status, kvError(d.kvCode, d.message, d.kvInner), { ...d.headers });
      options.callLog?.write(vaultTrace({
        requestId, started, ts: now, configVersion: configVersion(), policyVersion: c.version, vault: vault.name, operation: op.name,
        method: req.method ?? 'GET', path: url.pathname, query: url.search, headers: req.headers, clientIp, claims, checks: decision.checks, deny: d,
      }));
      audit.write({ ts: new Date(now).toISOString(), requestId, vault: vault.name, operation: op.name, identity, clientIp, result: 'denied', status: d.status, durationMs: durationMs(), reason: d.reason, policyVersion: c.version });
      return;
    }
    let body: unknown = undefined;
    if (bodyText.length > 0) {
      try { body = JSON.parse(bodyText); } catch { return send(res, requestId, clientIp, 400, kvError('BadParameter', 'The request body is not valid JSON.')); }
    }
    let answer: ApiAnswer;
    try {
      answer = runSecretsOperation(store, sealer, { op, vault, view: { origin: `https://${req.headers.host}`, recoveryLevel: vault.recoveryLevel, recoverableDays: vault.recoverableDays }, query: url.searchParams, apiVersion, pathname: url.pathname, body, now: Math.floor(now / 1000) });
    } catch (err) {
      logger.error({ event: 'vault_internal_error', requestId, err: (err as Error).message }, 'vault operation failed');
      answer = { status: 500, body: kvError('InternalServerError', `The vault failed to handle the request; report request id ${requestId}.`), errorCode: 'InternalServerError' };
    }
    send(res, requestId, clientIp, answer.status, answer.body);
    audit.write({
      ts: new Date(now).toISOString(), requestId, vault: vault.name, operation: op.name, identity, clientIp,
      result: answer.status < 400 ? 'success' : 'failed', status: answer.status, durationMs: durationMs(), reason: answer.errorCode ?? null,
      ...(op.secretName ? { secretName: op.secretName } : {}), policyVersion: c.version,
    });
  }

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    const pathname = (req.url ?? '/').split('?', 1)[0]!;
    if (isTokenServicePath(pathname)) return tokenService(req, res, pathname);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        const id = newRequestId();
        return send(res, id, canonicalIp(req.socket.remoteAddress ?? '0.0.0.0'), 413, kvError('RequestEntityTooLarge', `The request body exceeds ${MAX_BODY} bytes.`));
      }
      handle(req, res, chunks.length ? Buffer.concat(chunks).toString('utf8') : '').catch((err: unknown) => {
        logger.error({ event: 'vault_internal_error', err: (err as Error).message }, 'vault request failed');
        if (!res.headersSent) send(res, newRequestId(), '0.0.0.0', 500, kvError('InternalServerError', 'The vault failed to handle the request.'));
      });
    });
  });
  server.on('clientError', (_err: Error, socket: Socket) => { socket.destroy(); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  if (!options.authorityHosts) {
    authorityHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    live = compileVaultSettings(initial, initialVersion, authorityHosts);
  }

  const reload = () => {
    try {
      const read = readVaultSettingsFile(options.settingsFile);
      const compiled = compileVaultSettings(read.settings, live.version, authorityHosts);
      // Numbered only once it compiled: a rejected file never gets a version.
      const next = { ...compiled, version: store.recordPolicyVersion(read.text, options.settingsFile) };
      live = next;
      logger.info({ event: 'vault_settings_reloaded', policyVersion: next.version }, `vault settings v${next.version} loaded`);
      return { ok: true, version: next.version, message: `vault settings v${next.version} loaded` };
    } catch (err) {
      logger.error({ event: 'vault_settings_rejected', err: (err as Error).message }, 'vault settings rejected; the previous version stays in force');
      return { ok: false, version: live.version, message: (err as Error).message };
    }
  };
  const stopWatching = options.watch === false ? () => undefined : watchConfigFile(options.settingsFile, () => { reload(); });
  const purgeTimer = setInterval(() => { try { store.purgeDue(Math.floor(Date.now() / 1000)); } catch (err) { logger.error({ event: 'vault_purge_failed', err: (err as Error).message }, 'scheduled purge failed'); } }, 60_000);
  purgeTimer.unref();
  const keyTimer = setInterval(() => { keys.maintain().catch((err: unknown) => logger.error({ event: 'signing_key_rotation_failed', err: (err as Error).message }, 'key rotation failed')); }, 300_000);
  keyTimer.unref();
  logger.info({ event: 'vault_listening', port, vaults: [...live.vaults.keys()] }, `vault and token service listening on https://127.0.0.1:${port}`);

  let closed = false;
  return {
    server, port, url: `https://127.0.0.1:${port}`, keys, store, audit,
    current: () => live, reload,
    async close() {
      if (closed) return;
      closed = true;
      stopWatching();
      clearInterval(purgeTimer);
      clearInterval(keyTimer);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await audit.close();
      store.close();
    },
  };
}
