import type { IncomingHttpHeaders } from 'node:http';
import type { ReasonCode } from '../reasons/catalogue.ts';
import type { RequestBody } from '../web/request-body.ts';

/** Small structured facts a verdict rests on: ids, counts, matched rules. Never a secret. */
export type Evidence = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

/** Where a rule came from, so explain can point at the line to change. */
export interface ConfigLocation {
  readonly file: string;
  readonly line: number;
  /** JSON-pointer-like path in the document, e.g. routes[2].scopes.POST */
  readonly path: string;
}

export type Phase = 'pre-auth' | 'authn' | 'authz' | 'protect' | 'limit';
export const phaseOrder: readonly Phase[] = ['pre-auth', 'authn', 'authz', 'protect', 'limit'];

export interface Deny {
  readonly kind: 'deny';
  readonly code: ReasonCode;
  readonly evidence: Evidence;
  /** What the caller may be told at verbosity "standard"; no policy internals, no secrets. */
  readonly detail?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The rule that refused, when it is more precise than the check's own location. */
  readonly rule?: ConfigLocation;
}

export type Verdict =
  | { readonly kind: 'continue'; readonly evidence?: Evidence }
  /** authn only: "not my kind of credential", the next authenticator tries. */
  | { readonly kind: 'skip'; readonly evidence?: Evidence }
  | Deny;

export interface Identity {
  readonly kind: 'api_key' | 'jwt' | 'session';
  /** Key id or `iss#sub`: safe to log and to show to its own holder. */
  readonly credentialId: string;
  readonly consumerId: string | null;
  readonly tenantId: string | null;
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  readonly expiresAt: number | null;
  /** JWT only: the verified claims, for attribute conditions of access policies. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export interface RateLimitReport {
  readonly policy: string;
  readonly limit: number;
  readonly remaining: number;
  readonly resetSeconds: number;
  readonly windowSeconds: number;
}

export interface RequestContext {
  readonly requestId: string;
  readonly method: string;
  /** Normalized path (dot-segments resolved), the one that was matched and is forwarded. */
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly peerIp: string;
  clientIp: string;
  readonly params: Readonly<Record<string, string>>;
  readonly now: number;
  /** true in `simulate`: limits are read, not consumed. */
  readonly dryRun: boolean;
  identity: Identity | null;
  readonly rateLimits: RateLimitReport[];
  /** The buffered, parsed body, when one of the route's checks needs it (WAF, schema, CSRF field). */
  body?: RequestBody | null;
}

export interface Check {
  readonly id: string;
  readonly phase: Phase;
  readonly source: ConfigLocation;
  evaluate(ctx: RequestContext): Verdict | Promise<Verdict>;
}

export interface CheckRecord {
  readonly id: string;
  readonly phase: Phase;
  readonly outcome: 'continue' | 'skip' | 'deny' | 'not_run' | 'bypassed';
  readonly code?: ReasonCode;
  readonly evidence?: Evidence;
  readonly detail?: string;
  /** Set on refusals (and bypasses): where the refusing check is configured. */
  readonly source?: ConfigLocation;
  readonly rule?: ConfigLocation;
  readonly micros: number;
}
