import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestContext } from '../../src/pipeline/types.ts';
import { decodeRepeatedly, normalizeForRules } from '../../src/waf/decode.ts';
import { createWafEngine } from '../../src/waf/engine.ts';
import { patternRules } from '../../src/waf/rules.ts';
import { parseBody } from '../../src/web/request-body.ts';

// No rule may backtrack catastrophically: each is fed 100 KB inputs built from the tokens
// that make it start matching and then fail (the classic ReDoS shapes), and the time per
// rule is bounded. A polynomial or exponential pattern takes seconds to minutes here; the
// linear ones measure 0.3-75 ms (the worst is xss-002, whose bounded attribute window is
// rescanned from every "<tag " start).

const SIZE = 100 * 1024;
const fill = (unit: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

const adversarial: Record<string, string> = {
  quotes: fill("'"),
  'quote-or': fill("' or "),
  'quote-or-paren': fill("' or ("),
  'or-digits': fill(' or 1'),
  union: fill('union select '),
  'union-no-end': 'union select ' + fill('a '),
  semicolons: fill('; '),
  'quote-semicolon': fill("'; select "),
  'word-quote-dash': fill("a'-"),
  tags: fill('<a '),
  'tag-space': '<a ' + fill('x'),
  'svg-slash': fill('<svg/'),
  'on-handlers': '<a ' + fill(' onx'),
  javascript: fill('j a v a s c r i p t '),
  dots: fill('../'),
  'dots-partial': fill('..'),
  'dots-then-text': '../' + fill('a'),
  pipes: fill('| '),
  dollars: fill('$('),
  'curl-no-pipe': 'curl ' + fill('a'),
  'nc-flags': 'nc ' + fill('-a '),
  spaces: fill(' '),
  alnum: fill('ab1'),
  percent: fill('%25'),
  comments: fill('/*'),
  'comment-bang': fill('/*!1'),
  entities: fill('&#x'),
  backticks: fill('`ls '),
};

// CPU time, not wall time: the suite shares its cores with other processes. The bounds
// are generous for a linear rule (measured 0.3-75 ms) and far below what a quadratic one
// needs on 100 KB (10^10 steps: tens of seconds).
const PER_RULE_MS = 1000;
const cpuMs = (f: () => void): number => {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
};

describe('every WAF rule is linear on 100 KB adversarial inputs', () => {
  for (const rule of patternRules) {
    test(`${rule.id} stays under ${PER_RULE_MS} ms on each of ${Object.keys(adversarial).length} adversarial inputs`, () => {
      // V8 runs a new regex in its bytecode interpreter first and compiles it to native code
      // once it is used; the gateway runs every rule on every request, so time the compiled one.
      rule.pattern.exec('warm up <a onx');
      rule.pattern.exec('x');
      let worst = { name: '', ms: 0 };
      for (const [name, raw] of Object.entries(adversarial)) {
        const input = normalizeForRules(raw);
        const ms = cpuMs(() => rule.pattern.exec(input));
        if (ms > worst.ms) worst = { name, ms };
      }
      assert.ok(worst.ms < PER_RULE_MS, `${rule.id} took ${worst.ms.toFixed(1)} ms on "${worst.name}"`);
    });
  }
});

describe('the decoding pipeline and the whole engine are linear too', () => {
  test('decoding and normalizing each 100 KB input takes under 500 ms', () => {
    for (const [name, raw] of Object.entries(adversarial)) {
      const ms = cpuMs(() => normalizeForRules(decodeRepeatedly(raw)));
      assert.ok(ms < 500, `${name}: ${ms.toFixed(1)} ms`);
    }
  });

  test('inspecting a 100 KB adversarial JSON body with every paranoia-4 rule takes under 3 s', async () => {
    const engine = createWafEngine({ paranoia: 4, disabledRules: new Set(), exceptions: new Map(), skipHeaders: new Set() });
    for (const [name, raw] of Object.entries(adversarial)) {
      const body = JSON.stringify({ comment: raw });
      const ctx = { path: '/api/comments', query: '', headers: { 'content-type': 'application/json' }, body: await parseBody(Buffer.from(body), 'application/json') } as unknown as RequestContext;
      const ms = cpuMs(() => engine.inspect(ctx, true));
      assert.ok(ms < 3000, `${name}: ${ms.toFixed(1)} ms`);
    }
  });
});
