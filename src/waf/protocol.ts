import type { RequestContext } from '../pipeline/types.ts';
import type { ProtocolRuleId } from './rules.ts';

// Framing and encoding abuse, judged on the request as a whole. Node's HTTP parser already
// refuses the grossest forms (two different Content-Lengths, a bare LF in a header) with 400
// request_malformed before any check runs; these rules catch what it lets through.

export interface ProtocolFinding {
  readonly rule: ProtocolRuleId;
  readonly part: string;
  readonly fragment: string;
}

const MAX_HEADER_VALUE = 8192;
const badPercent = /%(?![0-9a-fA-F]{2})|%[uU][0-9a-fA-F]{4}/;
const mayBeInvalidUtf8 = /%(?![0-7][0-9a-fA-F])/;
const headerInjection = /[\r\n]+(?:set-cookie|location|content-type|content-length|refresh|x-[\w-]{1,40}) ?:/i;

export function requestLevelFindings(ctx: RequestContext, enabled: ReadonlySet<string>): ProtocolFinding | null {
  const h = ctx.headers;
  const te = h['transfer-encoding'];
  if (enabled.has('proto-001') && te !== undefined && h['content-length'] !== undefined) {
    return { rule: 'proto-001', part: 'header.transfer-encoding', fragment: `transfer-encoding: ${te}; content-length: ${h['content-length']}` };
  }
  if (enabled.has('proto-002') && te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    return { rule: 'proto-002', part: 'header.transfer-encoding', fragment: te.slice(0, 100) };
  }
  if (enabled.has('proto-004')) {
    for (const name in h) {
      const v = h[name];
      const len = v === undefined ? 0 : Array.isArray(v) ? v.join(', ').length : v.length;
      if (len > MAX_HEADER_VALUE) return { rule: 'proto-004', part: `header.${name}`, fragment: `${len} bytes` };
    }
  }
  const rawQuery = ctx.query.length > 1 ? ctx.query.slice(1) : '';
  const rawForm = ctx.body && ctx.body.kind === 'form' ? ctx.body.raw.toString('latin1') : '';
  for (const [part, raw] of [['query', rawQuery], ['body', rawForm]] as const) {
    if (raw === '') continue;
    const bad = enabled.has('proto-005') ? badPercent.exec(raw) : null;
    if (bad) return { rule: 'proto-005', part, fragment: raw.slice(bad.index, bad.index + 8) };
    // decodeURIComponent can only fail on a % that is not an ASCII escape (%00-%7F): most
    // bodies have none, and are not decoded whole just to be thrown away.
    if (enabled.has('proto-006') && mayBeInvalidUtf8.test(raw)) {
      try { decodeURIComponent(raw); } catch {
        const at = raw.search(/%[89a-fA-F][0-9a-fA-F]/);
        return { rule: 'proto-006', part, fragment: at === -1 ? raw.slice(0, 12) : raw.slice(at, at + 12) };
      }
    }
  }
  if (enabled.has('proto-101') && ctx.body?.parseError) {
    return { rule: 'proto-101', part: 'body', fragment: ctx.body.parseError.slice(0, 100) };
  }
  return null;
}

/** Per-value protocol rules, on the decoded value before normalization. */
export function valueFinding(name: string, decoded: string, source: string, enabled: ReadonlySet<string>): ProtocolFinding | null {
  const nul = decoded.indexOf('\0');
  if (nul !== -1 && enabled.has('proto-003')) return { rule: 'proto-003', part: name, fragment: JSON.stringify(decoded.slice(Math.max(0, nul - 20), nul + 20)) };
  if (source !== 'body' && enabled.has('proto-007')) {
    const m = headerInjection.exec(decoded);
    if (m) return { rule: 'proto-007', part: name, fragment: JSON.stringify(m[0].slice(0, 60)) };
  }
  return null;
}
