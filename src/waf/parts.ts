import type { RequestContext } from '../pipeline/types.ts';
import { allCookies } from '../web/cookies.ts';

// Every part of a request the WAF inspects, named the way explain and exceptions name it:
// path, query.<name>, header.<name>, cookie.<name>, body.$.a.b[2] (JSON), body.<field>
// (form and multipart). Values arrive decoded once, the way the upstream will decode them
// (URLSearchParams, JSON.parse); decode.ts adds the decodings attackers rely on.

export type PartSource = 'path' | 'query' | 'header' | 'cookie' | 'body';

/** Return true to stop visiting. */
export type PartVisitor = (name: string, value: string, source: PartSource) => boolean;

// Headers whose values are structured by the client library, not typed by a user, and
// the credentials the checks read themselves (never matched, never logged).
const skippedHeaders = new Set([
  'host', 'connection', 'content-length', 'content-type', 'transfer-encoding', 'accept', 'accept-encoding', 'accept-language',
  'cache-control', 'pragma', 'cookie', 'authorization', 'proxy-authorization', 'x-api-key', 'x-csrf-token', 'if-none-match',
  'if-modified-since', 'if-match', 'if-unmodified-since', 'upgrade-insecure-requests', 'priority', 'dnt', 'te', 'keep-alive',
  'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform',
  'origin', 'expect', 'x-request-id', 'traceparent', 'tracestate',
]);

const MAX_JSON_PARTS = 20_000;
const MAX_DEPTH = 64;

export function visitParts(ctx: RequestContext, skipHeaders: ReadonlySet<string>, visit: PartVisitor): void {
  if (visit('path', ctx.path.includes('%') ? safeDecode(ctx.path) : ctx.path, 'path')) return;
  if (ctx.query.length > 1) {
    for (const [k, v] of new URLSearchParams(ctx.query.slice(1))) if (visit(`query.${k}`, v, 'query')) return;
  }
  for (const name in ctx.headers) {
    if (skippedHeaders.has(name) || skipHeaders.has(name)) continue;
    const v = ctx.headers[name];
    if (v === undefined) continue;
    if (visit(`header.${name}`, Array.isArray(v) ? v.join(', ') : v, 'header')) return;
  }
  for (const [k, v] of allCookies(ctx.headers)) if (visit(`cookie.${k}`, v.includes('%') ? safeDecode(v) : v, 'cookie')) return;
  const body = ctx.body;
  if (!body) return;
  if (body.kind === 'json' && body.parseError === null) {
    const budget = { left: MAX_JSON_PARTS, truncated: false };
    // Past the part or depth budget, the rest is not skipped: the raw text is inspected whole.
    if (!visitJson(body.json, 'body.$', 0, budget, visit) && budget.truncated) visit('body', body.raw.toString('utf8'), 'body');
    return;
  }
  if (body.fields && body.parseError === null) {
    for (const [k, v] of body.fields) if (visit(`body.${k}`, v, 'body')) return;
    return;
  }
  // Text, or a body that did not parse as its type: the upstream may be more lenient than
  // the gateway's parser (or parse JSON whatever the Content-Type), so the rules see the raw
  // text, with JSON's \uXXXX escapes undone, rather than nothing.
  if (body.kind !== 'other' || body.parseError !== null) visit('body', unescapeJsonEscapes(body.raw.toString('utf8')), 'body');
}

/** A key JSONPath can write after a dot (/^[A-Za-z_$][\w$]*$/, as a loop: it runs for every key of a body). */
function isPlainKey(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
    if (!letter && (i === 0 || c < 48 || c > 57)) return false;
  }
  return true;
}

function visitJson(v: unknown, path: string, depth: number, budget: { left: number; truncated: boolean }, visit: PartVisitor): boolean {
  if (--budget.left <= 0) { budget.truncated = true; return false; }
  if (typeof v === 'string') return visit(path, v, 'body');
  if (v === null || typeof v !== 'object') return false;
  if (depth > MAX_DEPTH) { budget.truncated = true; return false; }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (visitJson(v[i], `${path}[${i}]`, depth + 1, budget, visit)) return true;
    return false;
  }
  for (const key in v as Record<string, unknown>) {
    const plain = isPlainKey(key);
    const child = plain ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
    // Keys are data too: a backend that builds queries from field names reads them.
    if (!plain && visit(`${child}#key`, key, 'body')) return true;
    if (visitJson((v as Record<string, unknown>)[key], child, depth + 1, budget, visit)) return true;
  }
  return false;
}

const jsonEscape = /\\u([0-9a-fA-F]{4})/g;
function unescapeJsonEscapes(s: string): string {
  return s.includes('\\u') ? s.replace(jsonEscape, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))) : s;
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}
