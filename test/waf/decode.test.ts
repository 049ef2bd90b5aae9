import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeRepeatedly, htmlEntityDecode, normalizeForRules, percentDecode, stripSqlComments } from '../../src/waf/decode.ts';

describe('the WAF decodings', () => {
  test('percent-decoding leaves malformed sequences as they are instead of failing', () => {
    assert.equal(percentDecode('100%25 sure'), '100% sure');
    assert.equal(percentDecode('50% off, %zz and %'), '50% off, %zz and %');
    assert.equal(percentDecode('caf%C3%A9'), 'café');
    assert.equal(percentDecode('a+b', true), 'a b');
    assert.equal(percentDecode('a+b'), 'a+b');
  });

  test('percent-decoding copies the text between escapes as the character-by-character definition does', () => {
    const utf8 = new TextDecoder('utf-8', { fatal: false });
    const hex = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);
    // The definition: bytes of consecutive %XX decode together; every other character is copied (+ as a space if asked).
    const plain = (s: string, plus: boolean): string => {
      const bytes: number[] = [];
      let out = '';
      const flush = () => { if (bytes.length) { out += utf8.decode(Uint8Array.from(bytes)); bytes.length = 0; } };
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c === 37 && i + 2 < s.length && hex(s.charCodeAt(i + 1)) >= 0 && hex(s.charCodeAt(i + 2)) >= 0) { bytes.push(hex(s.charCodeAt(i + 1)) * 16 + hex(s.charCodeAt(i + 2))); i += 2; continue; }
        if (c === 37 && (s[i + 1] === 'u' || s[i + 1] === 'U') && i + 5 < s.length && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) { flush(); out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16)); i += 5; continue; }
        flush();
        out += plus && c === 43 ? ' ' : s[i];
      }
      flush();
      return out;
    };
    const piece = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`),
      fc.constantFrom('%', '%2', '%zz', '%u00e9', '%U00E9', '%u12', '%C3%A9', '%E2%82', '+', 'a', 'bc ', 'é', '😀', '\ud800', '%25'),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 16 }), fc.boolean(), (pieces, plus) => {
      const s = pieces.join('');
      assert.equal(percentDecode(s, plus), plain(s, plus), JSON.stringify(s));
    }), { numRuns: 5000 });
  });

  test('IIS %u encoding is decoded', () => {
    assert.equal(percentDecode('%u003cscript%u003e'), '<script>');
  });

  test('repeated decoding stops when stable, after at most three passes', () => {
    assert.equal(decodeRepeatedly('%25252e'), '.');
    assert.equal(decodeRepeatedly('%2525252e'), '%2e', 'a fourth level is left encoded: no backend decodes four times');
    assert.equal(decodeRepeatedly('plain'), 'plain');
  });

  test('numeric and dangerous named HTML entities are decoded, with or without the semicolon', () => {
    assert.equal(htmlEntityDecode('&#106;avascript&#x3A;alert&lpar;1&rpar;'), 'javascript:alert(1)');
    assert.equal(htmlEntityDecode('&#60script&#62'), '<script>');
    assert.equal(htmlEntityDecode('Fish &amp; Chips &unknown; &#xZZ;'), 'Fish & Chips &unknown; &#xZZ;');
  });

  test('SQL comments become spaces, and MySQL executable comments keep their code', () => {
    assert.equal(stripSqlComments('union/**/select'), 'union select');
    assert.equal(stripSqlComments('/*!50000union*/ select'), ' union  select');
    assert.equal(stripSqlComments('a /* never closed'), 'a  ');
  });

  test('normalization lower-cases and collapses whitespace and control characters', () => {
    assert.equal(normalizeForRules('UNION\t\n  SELECT\u000bNULL'), 'union select null');
  });

  test('whitespace collapses exactly as "every run of \\s and controls becomes one space", for every UTF-16 code unit', () => {
    const plain = /[\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u00a0]+/g;
    const expected = (s: string) => s.toLowerCase().replace(plain, ' ');
    for (let c = 0; c < 0x10000; c++) {
      if (c === 0x26 || c === 0x2f) continue; // & and / start entities and comments, tested above
      const ch = String.fromCharCode(c);
      for (const s of [ch, `a${ch}b`, `a ${ch}b`, `a${ch} b`, `${ch}${ch}x${ch} ${ch}`, ` ${ch} `]) {
        if (normalizeForRules(s) !== expected(s)) assert.fail(`U+${c.toString(16).padStart(4, '0')} in ${JSON.stringify(s)}: ${JSON.stringify(normalizeForRules(s))} != ${JSON.stringify(expected(s))}`);
      }
    }
  });
});
