import type { IncomingHttpHeaders } from 'node:http';

/** The named cookie from a Cookie header (RFC 6265 5.4 syntax); the first copy wins, as in browsers' order. */
export function readCookie(headers: IncomingHttpHeaders, name: string): string | null {
  for (const [n, v] of allCookies(headers)) if (n === name) return v;
  return null;
}

/** All cookies as [name, value] in header order, quotes around a value removed (RFC 6265 cookie-value). */
export function allCookies(headers: IncomingHttpHeaders): [string, string][] {
  const raw = headers.cookie;
  if (!raw) return [];
  const out: [string, string][] = [];
  for (const pair of raw.split(/;\s*/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    let v = pair.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    out.push([pair.slice(0, eq).trim(), v]);
  }
  return out;
}

/**
 * The Cookie header without the named cookies (every copy of each), for forwarding: the
 * gateway's own session and CSRF cookies are its credentials, and an upstream that saw them
 * could replay them at the gateway. Names are matched exactly as readCookie matches them, so
 * whatever the gateway would accept as its cookie is removed. Other cookies keep their exact
 * bytes and order; when something is removed they are joined by "; " (RFC 6265 5.4), and
 * null means nothing is left (drop the header). Without a match the header is returned as is.
 */
export function withoutCookies(header: string, names: ReadonlySet<string>): string | null {
  // Every forwarded request with cookies comes here: most carry none of the gateway's, and a
  // substring test answers that without splitting the header.
  let named = false;
  for (const n of names) if (header.includes(n)) { named = true; break; }
  if (!named) return header;
  const pairs = header.split(';');
  let removed = false;
  const kept: string[] = [];
  for (const raw of pairs) {
    const pair = raw.trim();
    const eq = pair.indexOf('=');
    if (eq > 0 && names.has(pair.slice(0, eq).trim())) { removed = true; continue; }
    if (pair !== '') kept.push(pair);
  }
  if (!removed) return header;
  return kept.length > 0 ? kept.join('; ') : null;
}

export interface CookieAttributes {
  readonly maxAgeSeconds: number;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'Lax' | 'Strict';
}

export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  return `${name}=${value}; Path=/; Max-Age=${a.maxAgeSeconds}; SameSite=${a.sameSite}${a.httpOnly ? '; HttpOnly' : ''}${a.secure ? '; Secure' : ''}`;
}

/**
 * The name a browser will send back for a Set-Cookie line (RFC 6265 5.2: the text before the
 * first ";" is the name-value pair, the name before its "=", trimmed). A nameless pair
 * ("=pp_session=x") is stored with an empty name and sent back as its value, "pp_session=x", so
 * its name is the one inside the value; "" when there is none.
 */
export function setCookieName(line: string): string {
  const end = line.indexOf(';');
  const pair = end === -1 ? line : line.slice(0, end);
  const eq = pair.indexOf('=');
  if (eq === -1) return '';
  const name = pair.slice(0, eq).trim();
  if (name !== '') return name;
  const value = pair.slice(eq + 1);
  const inner = value.indexOf('=');
  return inner === -1 ? '' : value.slice(0, inner).trim();
}
