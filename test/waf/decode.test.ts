import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeRepeatedly, htmlEntityDecode, normalizeForRules, percentDecode, stripSqlComments } from '../../src/waf/decode.ts';

describe('the WAF decodings', () => {
  test('percent-decoding leaves malformed sequences as they are instead of failing', () => {
    assert.equal(percentDecode('100%25 sure'), '100% sure');
    assert.equal(percentDecode('50% off, %zz and %'), '50% off, %zz and %');
    assert.equal(percentDecode('caf%C3%A9'), 'café');
    assert.equal(percentDecode('a+b', true), 'a b');
    assert.equal(percentDecode('a+b'), 'a+b');
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
