import type { IncomingHttpHeaders } from 'node:http';

// The one place secrets are taken out of what is logged: credentials and cookies become
// a marker with their length, so explain can still say "a key was sent" or "the cookie
// was 4 KB" without the value ever reaching the store.

const alwaysSecret = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-csrf-token']);
const MAX_VALUE = 256;
/**
 * A header or query parameter named like a credential (X-Auth-Token, Api-Key, access_token,
 * client_secret, X-Amz-Signature...) is redacted whatever the config says: a client that
 * sends its secret in the wrong place must not have it written to the log. Its name is
 * kept, so explain can still say where the credential was sent.
 */
const credentialName = /(?:^|[-_.])(?:api-?key|apikey|api_key|key|token|secret|password|passwd|pwd|session|auth|credential|signature|sig)(?:$|[-_.])/i;

export function redactHeaders(headers: IncomingHttpHeaders, secretHeaders: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    if (alwaysSecret.has(name) || secretHeaders.has(name) || credentialName.test(name)) {
      const scheme = name === 'authorization' || name === 'proxy-authorization' ? `${value.split(' ', 1)[0]} ` : '';
      out[name] = `${scheme}[redacted ${value.length} chars]`;
    } else {
      out[name] = value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…(${value.length} chars)` : value;
    }
  }
  return out;
}

/** The query string as logged: values of credential-named parameters become a length marker. */
export function redactQuery(query: string): string {
  if (query.length < 3) return query;
  return query.replace(/([?&;])([^=&;#]*)=([^&;#]*)/g, (whole, sep: string, name: string, value: string) => {
    let decoded = name;
    try { decoded = decodeURIComponent(name.replace(/\+/g, ' ')); } catch { /* keep the raw name */ }
    return credentialName.test(decoded) ? `${sep}${name}=[redacted ${value.length} chars]` : whole;
  });
}
