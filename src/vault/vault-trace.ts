import type { IncomingHttpHeaders } from 'node:http';
import { redactHeaders, redactQuery } from '../log/redact.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { AccessTokenClaims } from '../identity/verify-access-token.ts';
import type { CheckRecord } from '../pipeline/types.ts';
import type { VaultDeny } from './access.ts';

const noSecretHeaders: ReadonlySet<string> = new Set();

export interface VaultTraceInput {
  readonly requestId: string;
  readonly started: number;
  readonly ts: number;
  readonly configVersion: number;
  readonly policyVersion: number;
  readonly vault: string;
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readonly claims: AccessTokenClaims | null;
  readonly checks: readonly CheckRecord[];
  readonly deny: VaultDeny;
}

/**
 * A vault refusal as a call-log trace, in the gateway's own record shape, so `pinpoint explain`
 * reads it like any gateway request. The query is kept (api-version, paging), its
 * credential-named parameters redacted: a client may put a token there by mistake.
 */
export function vaultTrace(i: VaultTraceInput): TraceRecord {
  const refusing = i.checks.find((c) => c.outcome === 'deny') ?? null;
  return {
    requestId: i.requestId, ts: i.ts, configVersion: i.configVersion, routeId: `vault:${i.vault}`,
    method: i.method, path: i.path, query: redactQuery(i.query), host: typeof i.headers.host === 'string' ? i.headers.host : null,
    clientIp: i.clientIp, peerIp: i.clientIp, clientIpVia: 'peer', status: i.deny.status, code: i.deny.reason,
    answeredBy: 'gateway', deniedBy: refusing?.id ?? null,
    identity: i.claims ? {
      kind: 'vault_token', credentialId: `appid=${i.claims.appid};oid=${i.claims.oid}`, consumerId: i.claims.appid,
      tenantId: i.claims.tid, subject: i.claims.oid, scopes: [], roles: [],
    } : null,
    checks: i.checks,
    request: {
      headers: redactHeaders(i.headers, noSecretHeaders),
      contentLength: i.headers['content-length'] ? Number(i.headers['content-length']) : null,
      contentType: i.headers['content-type'] ?? null, userAgent: i.headers['user-agent'] ?? null,
    },
    upstream: null,
    extra: { service: 'vault', vault: i.vault, operation: i.operation, policy_version: i.policyVersion, kv_error_code: i.deny.kvInner ?? i.deny.kvCode },
    durationMs: Math.round((performance.now() - i.started) * 1000) / 1000,
  };
}
