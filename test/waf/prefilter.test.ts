import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createPartPrefilter, patternRulesPrefilter, type PartPrefilter } from '../../src/waf/prefilter.ts';
import { patternRules } from '../../src/waf/rules.ts';

// The prefilter answers exactly "does each needle group of the rule have a needle in the
// text", for every text of a request at once, whatever the needles and the text hold.

type Groups = readonly (readonly string[])[];
const plainAdmits = (groups: Groups, text: string): boolean => groups.every((g) => g.some((n) => text.includes(n)));

function assertAdmitsAsPlain(prefilter: PartPrefilter, rules: readonly Groups[], texts: readonly string[]): void {
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
});
