export type NormalizedPath =
  | { readonly ok: true; readonly path: string; readonly segments: readonly string[] }
  | { readonly ok: false; readonly problem: string };

const unreserved = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

/**
 * One canonical path for matching and forwarding, so that what was authorized is what
 * the upstream receives: percent-decoding, dot-segments resolved (RFC 3986 5.2.4),
 * empty segments collapsed. Encoded slashes, backslashes and NULs are refused rather
 * than guessed at, because upstreams disagree on them (a classic ACL bypass).
 */
export function normalizePath(rawPath: string): NormalizedPath {
  if (rawPath.length === 0 || rawPath[0] !== '/') return { ok: false, problem: 'the path must start with /' };
  const fast = !rawPath.includes('%') && !rawPath.includes('/.') && !rawPath.includes('//') && !rawPath.includes('\\') && !rawPath.includes('\0');
  const parts = rawPath.split('/');
  const segments: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const raw = parts[i]!;
    if (fast) {
      if (raw !== '' || i === parts.length - 1) segments.push(raw);
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
    if (seg === '.' ) continue;
    if (seg === '..') {
      if (segments.length === 0) return { ok: false, problem: 'the path climbs above the root with ..' };
      segments.pop();
      continue;
    }
    if (seg === '' && i !== parts.length - 1) continue;
    segments.push(seg);
  }
  if (fast) return { ok: true, path: rawPath, segments };
  // "/a/.." is the root, and the root is one empty segment, as "/" itself is.
  if (segments.length === 0) segments.push('');
  return { ok: true, path: '/' + segments.map(encodeSegment).join('/'), segments };
}

function encodeSegment(seg: string): string {
  let out = '';
  for (const ch of seg) out += unreserved.test(ch) ? ch : encodeURIComponent(ch);
  return out;
}
