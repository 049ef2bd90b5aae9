import { randomUUID } from 'node:crypto';

/** OAuth 2.0 error codes (RFC 6749 §5.2) with the AADSTS numbers Entra ID uses for the same cases. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'invalid_resource'
  // Not in RFC 6749 §5.2 (it is an authorization-endpoint code, §4.1.2.1), but what Entra ID and
  // MSAL use at the token endpoint for "retry later", with 429 and Retry-After.
  | 'temporarily_unavailable';

export interface OAuthError {
  readonly status: 400 | 401 | 429;
  readonly error: OAuthErrorCode;
  readonly aadsts: number;
  readonly description: string;
}

export const oauthError = (status: OAuthError['status'], error: OAuthErrorCode, aadsts: number, description: string): OAuthError =>
  ({ status, error, aadsts, description });

/** The body Entra ID sends, so that MSAL turns it into an AuthenticationError carrying the description. */
export function oauthErrorBody(e: OAuthError, now = Date.now()): string {
  const traceId = randomUUID();
  return JSON.stringify({
    error: e.error,
    error_description: `AADSTS${e.aadsts}: ${e.description} Trace ID: ${traceId} Timestamp: ${new Date(now).toISOString()}`,
    error_codes: [e.aadsts],
    timestamp: new Date(now).toISOString().replace('T', ' '),
    trace_id: traceId,
    correlation_id: randomUUID(),
  });
}
