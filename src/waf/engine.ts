import type { RequestContext } from '../pipeline/types.ts';
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

export function createWafEngine(options: WafEngineOptions): WafEngine {
  const rules: PatternRule[] = patternRules.filter((r) => r.paranoia <= options.paranoia && !options.disabledRules.has(r.id));
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
      if (req && add({ rule: req.rule, attack: 'protocol', paranoia: protocolRules[req.rule].paranoia, part: req.part, fragment: req.fragment }) ) return found;
      visitParts(ctx, options.skipHeaders, (name, value, source) => {
        if (value.length === 0) return false;
        const decoded = value.includes('%') ? decodeRepeatedly(value) : value;
        const p = valueFinding(name, decoded, source, proto);
        if (p && add({ rule: p.rule, attack: 'protocol', paranoia: protocolRules[p.rule].paranoia, part: p.part, fragment: p.fragment })) return true;
        const n = normalizeForRules(decoded);
        for (const rule of rules) {
          if (!hasNeedles(n, rule.needles)) continue;
          const m = rule.pattern.exec(n);
          if (m && add({ rule: rule.id, attack: rule.attack, paranoia: rule.paranoia, part: name, fragment: m[0].slice(0, MAX_FRAGMENT) })) return true;
        }
        return false;
      });
      return found;
    },
  };
}

function hasNeedles(s: string, groups: readonly (readonly string[])[]): boolean {
  for (const group of groups) {
    let hit = false;
    for (const needle of group) if (s.includes(needle)) { hit = true; break; }
    if (!hit) return false;
  }
  return true;
}
