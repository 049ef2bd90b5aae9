// What analytics, the access review and alert evaluation read from the call log. Both
// stores implement it (src/store/sqlite/call-log-reader.ts, src/store/postgres/call-log-reader.ts)
// from the same SQL text (./call-log-sql.ts), and one contract suite
// (test/store/call-log-reader-contract.ts) holds them to the same answers.

export const dimensions = ['reason', 'route', 'consumer', 'tenant', 'clientIp', 'status', 'credential'] as const;
export type Dimension = (typeof dimensions)[number];

export interface Scope {
  readonly from: number;
  readonly to: number;
  /** Tenant admins: calls by this tenant's consumers or to these routes only. */
  readonly tenant?: { readonly id: string; readonly routes: readonly string[] } | undefined;
  /** Only refusals (status >= 400) when true. */
  readonly refusedOnly?: boolean;
  readonly route?: string | undefined;
  readonly code?: string | undefined;
}

/** One (bucket, value) cell: raw calls and rollups come as separate rows for the same cell. */
export interface SeriesRow { readonly b: number; readonly k: string | number | null; readonly n: number; readonly refused: number }
export interface OffenderRow { readonly k: string | number | null; readonly code: string | null; readonly n: number; readonly refused: number }
export interface Versions { readonly configVersion: number; readonly stateVersion: number | null }
export interface CredentialUsage { readonly k: string; readonly last: number; readonly n: number }
export interface AdmittedCall { readonly k: string; readonly r: string; readonly m: string }

/** An alert rule's question to the call log: which calls count (scope) and which are bad (match). */
export interface AlertQuery {
  readonly from: number;
  readonly to: number;
  readonly routes?: readonly string[] | undefined;
  readonly consumers?: readonly string[] | undefined;
  readonly tenants?: readonly string[] | undefined;
  readonly status?: readonly number[] | undefined;
  readonly codes?: readonly string[] | undefined;
  readonly origin?: 'gateway' | 'upstream' | undefined;
  readonly groupBy: 'none' | 'route' | 'consumer' | 'tenant' | 'clientIp' | 'credential';
  /** At most this many groups. */
  readonly limit: number;
}
export interface AlertGroupCount { readonly group: string; readonly matching: number; readonly total: number }
export interface AlertSample { readonly requestId: string; readonly configVersion: number; readonly stateVersion: number | null }

export interface CallLogReader {
  /** Time-series cells of calls and hourly rollups in the scope, bucketed by `bucketMs` (an integer). */
  seriesRows(scope: Scope, bucketMs: number, by: Dimension): Promise<SeriesRow[]>;
  /** Per value of the dimension and reason code: calls and refusals (calls and rollups). */
  offenderRows(scope: Scope, by: Dimension): Promise<OffenderRow[]>;
  /** The config and state versions most refusals in [from, to) were decided under. */
  dominantVersions(from: number, to: number, route: string | undefined): Promise<Versions | null>;
  /** The versions of the last call written in [from, to). */
  versionsBefore(from: number, to: number): Promise<Versions | null>;
  /** The oldest call's time: the start of the log window usage findings rest on. */
  logWindowStart(): Promise<number | null>;
  /** Per credential (refused attempts included): last use and number of calls. */
  credentialUsage(): Promise<CredentialUsage[]>;
  /** Distinct (credential, route, method) of admitted calls. */
  admittedCalls(): Promise<AdmittedCall[]>;
  /** Policies named by the access-policy check's evidence, allowing or denying. */
  matchedPolicies(): Promise<string[]>;
  /** Matching and total calls per group in [from, to). */
  alertCounts(q: AlertQuery): Promise<AlertGroupCount[]>;
  /** The newest matching calls of one group in [from, to), newest first. */
  alertSamples(q: AlertQuery, group: string, limit: number): Promise<AlertSample[]>;
}
