export type NormalizedPath =
  | { readonly ok: true; readonly path: string; readonly segments: readonly string[] }
  /** ambiguous: well formed, but servers disagree on what it means (400 path_ambiguous, not request_malformed). */
  | { readonly ok: false; readonly problem: string; readonly ambiguous?: true };

export interface NormalizeOptions {
  /** Lower-case the whole canonical path (gateway.caseInsensitivePaths). */
  readonly caseInsensitive?: boolean;
}

const unreserved = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
const encodedByte = /%[0-9A-Fa-f]{2}/;

/**
 * One canonical path for matching, policies, the WAF and forwarding, so that what was
 * authorized is what the upstream receives: percent-decoding, dot-segments resolved
 * (RFC 3986 5.2.4), empty segments collapsed, case folded where configured. Encoded
 * slashes, backslashes and NULs are refused rather than guessed at, because upstreams
 * disagree on them (a classic ACL bypass); so are paths that a second decoding
 * (%252e) or a `;` path parameter (Tomcat and Spring drop them: `..;/`) would change.
 */
export function normalizePath(rawPath: string, options?: NormalizeOptions): NormalizedPath {
  if (rawPath.length === 0 || rawPath[0] !== '/') return { ok: false, problem: 'the path must start with /' };
  if (rawPath.includes(';')) return { ok: false, ambiguous: true, problem: 'a ; path parameter (servers disagree on whether it is part of the segment, e.g. ..;/)' };
  const fold = options?.caseInsensitive === true;
  const fast = !rawPath.includes('%') && !rawPath.includes('/.') && !rawPath.includes('//') && !rawPath.includes('\\') && !rawPath.includes('\0');
  const parts = rawPath.split('/');
  const segments: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const raw = parts[i]!;
    if (fast) {
      if (raw !== '' || i === parts.length - 1) segments.push(fold ? raw.toLowerCase() : raw);
      continue;
    }
    let seg: string;
    try {
      seg = raw.includes('%') ? decodeURIComponent(raw) : raw;
    } catch {
      return { ok: false, problem: `invalid percent-encoding in path segment "${raw.slice(0, 40)}"` };
    }
    if (seg.includes('/') || seg.includes('\\')) return { ok: false, problem: 'an encoded slash or a backslash in the path' };
    if (seg.includes('\0')) return { ok: false, problem: 'a NUL byte in the path' };
    if (seg.includes(';')) return { ok: false, ambiguous: true, problem: 'an encoded ; path parameter' };
    if (encodedByte.test(seg)) return { ok: false, ambiguous: true, problem: `double percent-encoding in "${raw.slice(0, 40)}" (a backend decoding again would see "${decodeOnceMore(seg).slice(0, 40)}")` };
    // Some servers fold compatibility characters (U+FF0E FULLWIDTH FULL STOP) to ASCII.
    if (/[^\x00-\x7f]/.test(seg)) {
      const folded = seg.normalize('NFKC');
      if (folded === '.' || folded === '..' || folded.includes('/') || folded.includes('\\')) return { ok: false, ambiguous: true, problem: `"${raw.slice(0, 40)}" becomes "${folded}" under Unicode compatibility folding` };
    }
    if (fold) seg = seg.toLowerCase();
    if (seg === '.' ) continue;
    if (seg === '..') {
      if (segments.length === 0) return { ok: false, problem: 'the path climbs above the root with ..' };
      segments.pop();
      continue;
    }
    if (seg === '' && i !== parts.length - 1) continue;
    segments.push(seg);
  }
  if (fast) return { ok: true, path: fold ? rawPath.toLowerCase() : rawPath, segments };
  // "/a/.." is the root, and the root is one empty segment, as "/" itself is.
  if (segments.length === 0) segments.push('');
  return { ok: true, path: '/' + segments.map(encodeSegment).join('/'), segments };
}

function decodeOnceMore(seg: string): string {
  try { return decodeURIComponent(seg); } catch { return seg; }
}

function encodeSegment(seg: string): string {
  let out = '';
  for (const ch of seg) out += unreserved.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}
