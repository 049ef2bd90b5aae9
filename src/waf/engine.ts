import type { RequestContext } from '../pipeline/types.ts';
import { decodeRepeatedly, normalizeForRules } from './decode.ts';
import { visitParts } from './parts.ts';
import { patternRulesPrefilter } from './prefilter.ts';
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

export function createWafEngine(options: WafEngineOptions): WafEngine {
  const rules: PatternRule[] = patternRules.filter((r) => r.paranoia <= options.paranoia && !options.disabledRules.has(r.id));
  const prefilter = patternRulesPrefilter();
  const prefilterIndex = Int32Array.from(rules, (r) => patternRules.indexOf(r));
  // Needle-group bits of each part, reused across requests (inspect is synchronous).
  let bits = new Int32Array(256 * prefilter.words);
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
      const decodedParts: string[] = [];
      let stopped = false;
      visitParts(ctx, options.skipHeaders, (name, value, source) => {
        if (value.length === 0) return false;
        const decoded = value.includes('%') ? decodeRepeatedly(value) : value;
        const p = valueFinding(name, decoded, source, proto);
        if (p && add({ rule: p.rule, attack: 'protocol', paranoia: protocolRules[p.rule].paranoia, part: p.part, fragment: fragmentOf(p.part, p.fragment) })) { stopped = true; return true; }
        names.push(name);
        decodedParts.push(decoded);
        return false;
      });
      if (stopped || decodedParts.length === 0) return found;
      const parts = decodedParts.length;
      if (bits.length < parts * prefilter.words) bits = new Int32Array(parts * prefilter.words * 2);
      // A part is normalized only when a rule runs on it, or when its needles could not be
      // read off the decoded value.
      const normalized = new Array<string | undefined>(parts);
      const unread = prefilter.scanDecodedAll(decodedParts, bits);
      if (unread.length > 0) prefilter.scanAll(unread.map((i) => (normalized[i] = normalizeForRules(decodedParts[i]!))), bits, unread);
      // Rule by rule, part by part, as before the prefilter: the first finding (block mode)
      // is the same one, and so is the order of all of them (detect mode).
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r]!;
        for (let i = 0; i < parts; i++) {
          if (!prefilter.admits(prefilterIndex[r]!, bits, i)) continue;
          const m = rule.pattern.exec(normalized[i] ??= normalizeForRules(decodedParts[i]!));
          if (m && add({ rule: rule.id, attack: rule.attack, paranoia: rule.paranoia, part: names[i]!, fragment: fragmentOf(names[i]!, m[0]) })) return found;
        }
      }
      return found;
    },
  };
}
