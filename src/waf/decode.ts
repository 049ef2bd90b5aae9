// The transformations a value goes through before the rules see it, so that an attack
// cannot hide behind an encoding the upstream will undo: percent-decoding (repeated, for
// backends that decode twice), HTML entities (browsers decode them in attributes), case,
// SQL comments used as whitespace, and runs of whitespace. Every step is a single linear
// pass: no regex here can backtrack over the value.

const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes %XX (and IIS-style %uXXXX) where well formed and leaves anything else as it is. */
export function percentDecode(s: string, plusAsSpace = false): string {
  if (s.indexOf('%') === -1 && (!plusAsSpace || s.indexOf('+') === -1)) return s;
  // Runs of %XX are bytes, decoded together as UTF-8; what lies between is copied a run
  // at a time (a value is mostly text: one slice per run, not one string per character).
  const bytes: number[] = [];
  let out = '';
  let from = 0;
  const flush = () => {
    if (bytes.length === 0) return;
    // ASCII bytes are their own characters; only the rest needs the UTF-8 decoder.
    out += bytes.length <= 1024 && bytes.every((b) => b < 0x80) ? String.fromCharCode(...bytes) : utf8Lenient.decode(Uint8Array.from(bytes));
    bytes.length = 0;
  };
  const copyTo = (i: number) => { if (from < i) { flush(); out += s.slice(from, i); } };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length && hexVal(s.charCodeAt(i + 1)) >= 0 && hexVal(s.charCodeAt(i + 2)) >= 0) {
      copyTo(i);
      bytes.push(hexVal(s.charCodeAt(i + 1)) * 16 + hexVal(s.charCodeAt(i + 2)));
      i += 2;
      from = i + 1;
      continue;
    }
    if (c === 37 && (s.charCodeAt(i + 1) === 117 || s.charCodeAt(i + 1) === 85) && i + 5 < s.length) {
      const h = s.slice(i + 2, i + 6);
      if (/^[0-9a-fA-F]{4}$/.test(h)) { copyTo(i); flush(); out += String.fromCharCode(parseInt(h, 16)); i += 5; from = i + 1; continue; }
    }
    if (plusAsSpace && c === 43) { copyTo(i); flush(); out += ' '; from = i + 1; }
  }
  copyTo(s.length);
  flush();
  return out;
}

/** Decodes until stable, at most `max` passes: "%252e" -> "%2e" -> ".". */
export function decodeRepeatedly(s: string, max = 3): string {
  let cur = s;
  for (let i = 0; i < max; i++) {
    const next = percentDecode(cur);
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

const named: Record<string, string> = {
  lt: '<', gt: '>', quot: '"', apos: "'", amp: '&', colon: ':', tab: '\t', newline: '\n', lpar: '(', rpar: ')',
  sol: '/', bsol: '\\', semi: ';', equals: '=', nbsp: ' ', grave: '`', num: '#', excl: '!', period: '.', comma: ',',
};
const entity = /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});?/g;

/** Numeric and the dangerous named HTML entities; browsers accept them without the semicolon. */
export function htmlEntityDecode(s: string): string {
  if (s.indexOf('&') === -1) return s;
  return s.replace(entity, (m, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return named[body.toLowerCase()] ?? m;
  });
}

/**
 * SQL comments as whitespace (`UNION/**\/SELECT`); MySQL's executable comments
 * (`/*!50000UNION*\/`) keep their content, since MySQL runs it.
 */
export function stripSqlComments(s: string): string {
  let i = s.indexOf('/*');
  if (i === -1) return s;
  let out = '';
  let from = 0;
  while (i !== -1) {
    out += s.slice(from, i) + ' ';
    const end = s.indexOf('*/', i + 2);
    if (s.charCodeAt(i + 2) === 33 /* ! */) {
      let j = i + 3;
      while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
      const stop = end === -1 ? s.length : end;
      out += s.slice(j, stop) + ' ';
    }
    if (end === -1) { from = s.length; break; }
    from = end + 2;
    i = s.indexOf('/*', from);
  }
  return out + s.slice(from);
}

/** What normalizeForRules turns into a space (a run of them into one): whitespace and control characters. */
export const ruleWhitespace = /[\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u00a0]/;

// Every run of whitespace and control characters becomes one space. Written as "a space
// followed by more, or any other such character and the rest of its run", it leaves the
// common lone spaces unmatched, which halves the cost of the replace on prose; the result
// is the one of a run of ruleWhitespace -> ' ' (decode.test.ts
// compares the two on every UTF-16 code unit).
const spaceRuns = / [\s\u0000-\u0008\u000e-\u001f]+|[\t-\r\u0000-\u0008\u000e-\u001f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][\s\u0000-\u0008\u000e-\u001f]*/g;

/** The form every rule matches against. */
export function normalizeForRules(decoded: string): string {
  return stripSqlComments(htmlEntityDecode(decoded).toLowerCase()).replace(spaceRuns, ' ');
}
