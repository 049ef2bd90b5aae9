import type { TraceRecord } from '../log/trace.ts';

// Who made a call. A refused credential (expired, revoked, suspended) leaves no identity on
// the trace, but the refusing check's evidence names its key, consumer and tenant: counting
// those under "(none)" would hide exactly the consumers an operator is looking for.

export const CONSUMER_SQL = "COALESCE(consumer_id, json_extract(trace, '$.checks[#-1].evidence.consumer'))";
export const TENANT_SQL = "COALESCE(json_extract(trace, '$.identity.tenantId'), json_extract(trace, '$.checks[#-1].evidence.tenant'))";
export const CREDENTIAL_SQL = "COALESCE(credential_id, json_extract(trace, '$.checks[#-1].evidence.key_id'))";

function denyEvidence(t: TraceRecord, field: string): string | null {
  if (t.code === null) return null;
  const v = t.checks.at(-1)?.evidence?.[field];
  return typeof v === 'string' ? v : null;
}

export const consumerOf = (t: TraceRecord): string | null => t.identity?.consumerId ?? denyEvidence(t, 'consumer');
export const tenantOf = (t: TraceRecord): string | null => t.identity?.tenantId ?? denyEvidence(t, 'tenant');
export const credentialOf = (t: TraceRecord): string | null => t.identity?.credentialId ?? denyEvidence(t, 'key_id');

/**
 * What a tenant admin sees in place of a caller of another tenant (a globex key calling acme's
 * API): the call is acme's to see, the identity is globex's and stays hidden.
 */
export const OTHER_TENANT = '(another tenant)';
