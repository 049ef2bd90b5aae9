// Frozen copy of src/waf/engine.ts at fa6e715, before the WAF engine was made cheaper:
// the baseline bench/waf-engine.ts measures the current engine against in the same run.
// Do not edit (or fix) it; it is the "before".
import type { RequestContext } from '../../../src/pipeline/types.ts';
import { decodeRepeatedly, normalizeForRules } from './decode.ts';
import { visitParts } from './parts.ts';
import { requestLevelFindings, valueFinding } from './protocol.ts';
import { patternRules, protocolRules, type AttackClass, type PatternRule } from './rules.ts';

export interface WafMatch {
  readonly rule: string;
  readonly attack: AttackClass;
  readonly paranoia: number;
  readonly part: string;
  /** What the rule matched, in the decoded and normalized form the rule saw. */
  readonly fragment: string;
}

export interface WafEngineOptions {
  readonly paranoia: number;
  readonly disabledRules: ReadonlySet<string>;
  /** rule id -> part patterns where it does not apply (exact, `*`, or with [*] for any index). */
  readonly exceptions: ReadonlyMap<string, ReadonlySet<string>>;
  /** Header names never inspected (the route's own credential headers). */
  readonly skipHeaders: ReadonlySet<string>;
}

export interface WafEngine {
  readonly ruleIds: readonly string[];
  /** The first match (block mode) or all of them, at most 20 (detect mode). */
  inspect(ctx: RequestContext, all: boolean): WafMatch[];
}

const MAX_FRAGMENT = 120;
// Evidence never holds a secret: a match inside a password-like field is logged by its
// rule and part, with the fragment's length only.
const secretPart = /pass(?:word|wd)?|secret|token|api[-_]?key|authorization|session|csrf|credential/i;
const fragmentOf = (part: string, text: string): string => (secretPart.test(part) ? `[redacted ${text.length} chars]` : text.slice(0, MAX_FRAGMENT));

// Punctuation a needle can require, one bit each: a part's set of these is computed in one
// pass, and a rule is skipped for a part lacking every character its needles need. This
// is what keeps a 64 KB body of a thousand strings cheap: an integer test per rule and
// part instead of a dozen substring searches.
const specials = '\'"`<>;|&$()=/\\.:#%{}[]*@!~+?,-';
const bitOf = new Uint32Array(128);
for (let i = 0; i < specials.length; i++) bitOf[specials.charCodeAt(i)] = 1 << i;

function charMask(s: string): number {
  let mask = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) mask |= bitOf[c]!;
  }
  return mask;
}

/** For each needle group made only of needles with punctuation: the bits one of which a part must have. */
function groupMasks(rule: PatternRule): number[] {
  const masks: number[] = [];
  for (const group of rule.needles) {
    let m = 0;
    let constrained = true;
    for (const needle of group) {
      const first = [...needle].find((ch) => ch.charCodeAt(0) < 128 && bitOf[ch.charCodeAt(0)]! !== 0);
      if (first === undefined) { constrained = false; break; }
      m |= bitOf[first.charCodeAt(0)]!;
    }
    if (constrained) masks.push(m);
  }
  return masks;
}

export function createWafEngine(options: WafEngineOptions): WafEngine {
  const rules: PatternRule[] = patternRules.filter((r) => r.paranoia <= options.paranoia && !options.disabledRules.has(r.id));
  const masks = rules.map(groupMasks);
  const proto = new Set(Object.entries(protocolRules).filter(([id, r]) => r.paranoia <= options.paranoia && !options.disabledRules.has(id)).map(([id]) => id));
  const excepted = (rule: string, part: string): boolean => {
    const set = options.exceptions.get(rule);
    if (!set) return false;
    return set.has('*') || set.has(part) || (part.includes('[') && set.has(part.replace(/\[\d+\]/g, '[*]')));
  };
  return {
    ruleIds: [...rules.map((r) => r.id), ...proto],
    inspect(ctx, all) {
      const found: WafMatch[] = [];
      const add = (m: WafMatch): boolean => {
        if (excepted(m.rule, m.part)) return false;
        found.push(m);
        return !all || found.length >= 20;
      };
      const req = requestLevelFindings(ctx, proto);
      if (req && add({ rule: req.rule, attack: 'protocol', paranoia: protocolRules[req.rule].paranoia, part: req.part, fragment: fragmentOf(req.part, req.fragment) })) return found;
      const names: string[] = [];
      const normalized: string[] = [];
      const partMasks: number[] = [];
      let stopped = false;
      visitParts(ctx, options.skipHeaders, (name, value, source) => {
        if (value.length === 0) return false;
        const decoded = value.includes('%') ? decodeRepeatedly(value) : value;
        const p = valueFinding(name, decoded, source, proto);
        if (p && add({ rule: p.rule, attack: 'protocol', paranoia: protocolRules[p.rule].paranoia, part: p.part, fragment: fragmentOf(p.part, p.fragment) })) { stopped = true; return true; }
        names.push(name);
        const n = normalizeForRules(decoded);
        normalized.push(n);
        partMasks.push(charMask(n));
        return false;
      });
      if (stopped || normalized.length === 0) return found;
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r]!;
        const required = masks[r]!;
        for (let i = 0; i < normalized.length; i++) {
          const n = normalized[i]!;
          if (!hasChars(partMasks[i]!, required) || !hasNeedles(n, rule.needles)) continue;
          const m = rule.pattern.exec(n);
          if (m && add({ rule: rule.id, attack: rule.attack, paranoia: rule.paranoia, part: names[i]!, fragment: fragmentOf(names[i]!, m[0]) })) return found;
        }
      }
      return found;
    },
  };
}

function hasChars(mask: number, required: readonly number[]): boolean {
  for (const m of required) if ((mask & m) === 0) return false;
  return true;
}

function hasNeedles(s: string, groups: readonly (readonly string[])[]): boolean {
  for (const group of groups) {
    let hit = false;
    for (const needle of group) if (s.includes(needle)) { hit = true; break; }
    if (!hit) return false;
  }
  return true;
}
