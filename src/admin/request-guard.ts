import type { IncomingHttpHeaders } from 'node:http';
import { AdminError, MAX_ADMIN_BODY } from './http.ts';

// What a browser on another site could make the admin API do, refused before any handler runs.
// Admin tokens travel in the Authorization header only (never a cookie or the query string), so
// a foreign page has no ambient credential to ride on; these rules close the remaining doors:
// a console session tricked into a cross-origin call, a form or a no-preflight fetch landing on
// a handler, and a body large enough to hold the listener's memory.

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The origins a browser may use to reach this listener: its own address, the loopback names
 * of a loopback listener, and any public origin the operator lists (a TLS proxy in front).
 */
export function ownOrigins(host: string, port: number, trusted: readonly string[] = []): ReadonlySet<string> {
  const origins = new Set(trusted.map((o) => o.toLowerCase().replace(/\/$/, '')));
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  origins.add(`http://${bracket(host)}:${port}`);
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') {
    for (const h of ['127.0.0.1', 'localhost', '[::1]']) origins.add(`http://${h}:${port}`);
  }
  return origins;
}

/**
 * Sec-Fetch-Site (Fetch Metadata) names what the browser knows for sure; Origin covers browsers
 * without it. "same-site" is refused too: a sibling subdomain or another port is another origin.
 * A request with neither header is not from a browser and carries its own bearer token.
 */
export function crossSiteRefusal(method: string, headers: IncomingHttpHeaders, origins: ReadonlySet<string>, wildcardHost: boolean): AdminError | null {
  if (!STATE_CHANGING.has(method)) return null;
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    return new AdminError('admin_cross_site_request', `A ${site} ${method} was refused: admin changes come from the console on this listener's own origin.`);
  }
  const origin = headers.origin;
  if (origin === undefined) return null;
  const o = origin.toLowerCase();
  // A listener on 0.0.0.0 or :: has no single own address: the origin must then name the Host the browser addressed.
  const self = wildcardHost && headers.host ? `http://${headers.host.toLowerCase()}` : null;
  if (origins.has(o) || o === self) return null;
  return new AdminError('admin_cross_site_request', `Origin ${origin.slice(0, 200)} is not this admin listener's origin; a page on another origin may not change admin state.`);
}

/**
 * A JSON body or none: an HTML form (urlencoded, multipart) and a "simple" fetch (text/plain)
 * are exactly what a browser sends cross-site without a CORS preflight, so they never reach a handler.
 */
export function bodyRefusal(method: string, headers: IncomingHttpHeaders): AdminError | null {
  if (!WITH_BODY.has(method)) return null;
  const type = headers['content-type'];
  const length = headers['content-length'];
  const declared = length === undefined ? null : Number(length);
  if (declared !== null && declared > MAX_ADMIN_BODY) return new AdminError('admin_payload_too_large', `The body (${length} bytes) exceeds ${MAX_ADMIN_BODY} bytes.`);
  const hasBody = headers['transfer-encoding'] !== undefined || (declared !== null && declared > 0);
  if (type === undefined) {
    return hasBody ? new AdminError('admin_unsupported_media_type', 'A body needs Content-Type: application/json.') : null;
  }
  const essence = type.split(';')[0]!.trim().toLowerCase();
  if (essence !== 'application/json') return new AdminError('admin_unsupported_media_type', `Content-Type ${essence.slice(0, 100) || '(empty)'} is not accepted; send application/json.`);
  return null;
}
