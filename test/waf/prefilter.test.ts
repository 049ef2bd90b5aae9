import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { normalizeForRules } from '../../src/waf/decode.ts';
import { createPartPrefilter, patternRulesPrefilter, type PartPrefilter } from '../../src/waf/prefilter.ts';
import { patternRules } from '../../src/waf/rules.ts';

// The prefilter answers exactly "does each needle group of the rule have a needle in the
// text", for every text of a request at once, whatever the needles and the text hold.

type Groups = readonly (readonly string[])[];
const plainAdmits = (groups: Groups, text: string): boolean => groups.every((g) => g.some((n) => text.includes(n)));

// scan() is given normalized text (the engine's parts), where whitespace never runs: its
// automaton reads a run of whitespace as one space. Generated text is normalized first.
function assertAdmitsAsPlain(prefilter: PartPrefilter, rules: readonly Groups[], generated: readonly string[]): void {
  const texts = generated.map(normalizeForRules);
  const all = new Int32Array(texts.length * prefilter.words);
  prefilter.scanAll(texts, all);
  const one = new Int32Array(prefilter.words);
  texts.forEach((text, i) => {
    prefilter.scan(text, one, 0);
    rules.forEach((groups, r) => {
      const expected = plainAdmits(groups, text);
      assert.equal(prefilter.admits(r, all, i), expected, `rule ${r} on ${JSON.stringify(text)} (scanAll)`);
      assert.equal(prefilter.admits(r, one, 0), expected, `rule ${r} on ${JSON.stringify(text)} (scan)`);
    });
  });
}

const needleText = (needles: readonly string[]) => fc.array(fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...needles) },
  { weight: 2, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('李', '😀', '\u0127', '\u4e27', '\u0000', 'é', 'ß', ' ', '\u2003') },
), { maxLength: 10 }).map((xs) => xs.join(''));

describe('the part prefilter', () => {
  const ruleNeedles = patternRules.map((r) => r.needles);
  const allNeedles = [...new Set(ruleNeedles.flat(2))];

  test("every pattern rule is a candidate exactly when each of its groups has a needle in the text", () => {
    fc.assert(fc.property(fc.array(needleText(allNeedles), { maxLength: 8 }), (texts) => {
      assertAdmitsAsPlain(patternRulesPrefilter(), ruleNeedles, texts);
    }), { numRuns: 1000 });
  });

  test('needles that overlap, contain each other, are not ASCII, are empty, or groups that are empty', () => {
    const rules: Groups[] = [[['ab', 'b']], [['abc'], ['c']], [['é', 'ß']], [['李小']], [['']], [[]], [['aa', 'aaa'], ['a a']], []];
    fc.assert(fc.property(fc.array(needleText(['a', 'b', 'c', 'ab', 'abc', 'é', 'ß', '李', '小', 'aa', ' ']), { maxLength: 6 }), (texts) => {
      assertAdmitsAsPlain(createPartPrefilter(rules), rules, texts);
    }), { numRuns: 1000 });
  });

  test('more than 32 needle groups take more than one word of bits per part', () => {
    const rules: Groups[] = Array.from({ length: 40 }, (_, i) => [[`n${i}x`], i % 3 === 0 ? ['y'] : ['z', `${i}`]]);
    const prefilter = createPartPrefilter(rules);
    assert.ok(prefilter.words > 1);
    fc.assert(fc.property(fc.array(needleText(['n1x', 'n33x', 'n39x', 'y', 'z', '3', '39', 'n']), { maxLength: 6 }), (texts) => {
      assertAdmitsAsPlain(prefilter, rules, texts);
    }), { numRuns: 500 });
  });

  // Reading the normalized form off the decoded value: the bits of each value read are
  // those of normalizeForRules(value); the others are the ones normalizing changes more
  // than case and whitespace in.
  function assertReadsAsNormalized(decoded: readonly string[]): void {
    const prefilter = patternRulesPrefilter();
    const bits = new Int32Array(decoded.length);
    const unread = new Set(prefilter.scanDecodedAll(decoded, bits));
    decoded.forEach((value, i) => {
      if (unread.has(i)) {
        assert.match(value, /&[#a-zA-Z]|\/\*|[İΣ\uffff]/, `${JSON.stringify(value)} is read`);
        return;
      }
      const text = normalizeForRules(value);
      ruleNeedles.forEach((groups, r) => assert.equal(prefilter.admits(r, bits, i), plainAdmits(groups, text), `rule ${r} on ${JSON.stringify(value)} -> ${JSON.stringify(text)}`));
    });
  }

  test('needles read off decoded values are those of their normalized form (generated values)', () => {
    const tricky = ['A', 'OR ', 'Or\t', '  ', '\t\n ', '\u00a0', '\u2003', '\u0000', '\u001f', '&', '&&', '& ', '&#', '&lt;', '/', '//', '/*', '*/', 'İ', 'Σ', 'ΑΣ', '\u212a', 'ß', 'É', 'SCRIPT', 'JaVaS\tCrIpT:', 'UNION  SELECT'];
    fc.assert(fc.property(fc.array(fc.array(fc.oneof(fc.constantFrom(...allNeedles, ...tricky), fc.string({ maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 3 })), { maxLength: 10 }).map((xs) => xs.join('')), { maxLength: 6 }), (values) => {
      assertReadsAsNormalized(values);
    }), { numRuns: 2000 });
  });

  test('needles read off decoded values are those of their normalized form (every UTF-16 code unit, next to needles)', () => {
    const values: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      // In a needle's place (m?fifo: the Kelvin sign is a k), and as a run of whitespace inside one (t  :).
      values.push(`x${ch}y`, `or${ch}${ch}1`, `${ch}script`, `<${ch}`, `m${ch}fifo`, `t${ch}:`, `t${ch}${ch}:`, `t ${ch}:`, `delete${ch}${ch}${ch}from`);
      if (values.length >= 5000) { assertReadsAsNormalized(values); values.length = 0; }
    }
    assertReadsAsNormalized(values);
  });

  test('no character outside the BMP lower-cases to one inside it (surrogates can stay in no needle)', () => {
    for (let c = 0x10000; c <= 0x10ffff; c++) {
      const lower = String.fromCodePoint(c).toLowerCase();
      for (let i = 0; i < lower.length; i++) {
        const u = lower.charCodeAt(i);
        if (u < 0xd800 || u > 0xdfff) assert.fail(`U+${c.toString(16)} lower-cases to ${JSON.stringify(lower)}`);
      }
    }
  });
});

