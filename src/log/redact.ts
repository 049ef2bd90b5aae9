import type { IncomingHttpHeaders } from 'node:http';

// The one place secrets are taken out of what is logged: credentials and cookies become
// a marker with their length, so explain can still say "a key was sent" or "the cookie
// was 4 KB" without the value ever reaching the store.

const alwaysSecret = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-csrf-token']);
const MAX_VALUE = 256;

export function redactHeaders(headers: IncomingHttpHeaders, secretHeaders: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    if (alwaysSecret.has(name) || secretHeaders.has(name)) {
      const scheme = name === 'authorization' || name === 'proxy-authorization' ? `${value.split(' ', 1)[0]} ` : '';
      out[name] = `${scheme}[redacted ${value.length} chars]`;
    } else {
      out[name] = value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…(${value.length} chars)` : value;
    }
  }
  return out;
}
