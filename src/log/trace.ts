import type { ReasonCode } from '../reasons/catalogue.ts';
import type { Attempt } from '../proxy/forward.ts';
import type { CheckRecord, Evidence } from '../pipeline/types.ts';

/** Everything explain needs about one request. Written off the hot path; never holds a secret. */
export interface TraceRecord {
  readonly requestId: string;
  readonly ts: number;
  readonly configVersion: number;
  /** The tenancy state version (keys, subscriptions, policies) the request was decided under. */
  readonly stateVersion?: number;
  readonly routeId: string | null;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly host: string | null;
  readonly clientIp: string;
  readonly peerIp: string;
  readonly clientIpVia: 'peer' | 'x-forwarded-for';
  readonly status: number;
  readonly code: ReasonCode | null;
  /** Who produced the status: a 403 from the backend is the upstream's, relayed unchanged. */
  readonly answeredBy: 'gateway' | 'upstream' | 'none';
  readonly deniedBy: string | null;
  readonly identity: {
    readonly kind: string; readonly credentialId: string; readonly consumerId: string | null;
    readonly tenantId: string | null; readonly subject: string; readonly scopes: readonly string[]; readonly roles: readonly string[];
  } | null;
  readonly checks: readonly CheckRecord[];
  readonly request: {
    readonly headers: Readonly<Record<string, string>>;
    readonly contentLength: number | null;
    readonly contentType: string | null;
    readonly userAgent: string | null;
  };
  readonly upstream: {
    readonly name: string;
    readonly attempts: readonly Attempt[];
    readonly status: number | null;
    readonly headersMs: number | null;
    readonly errorSample: string | null;
    readonly panic: boolean;
    readonly aborted: string | null;
  } | null;
  readonly extra?: Evidence;
  readonly durationMs: number;
}
