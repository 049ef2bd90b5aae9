import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';
import type { RouteWafConfig } from '../web/config-schema.ts';
import { createWafEngine } from './engine.ts';
import { allRuleIds, patternRules, protocolRules } from './rules.ts';

export class WafConfigError extends Error {
  readonly path: readonly (string | number)[];
  constructor(path: readonly (string | number)[], message: string) {
    super(message);
    this.path = path;
  }
}

export interface WafCheckOptions {
  readonly config: RouteWafConfig;
  readonly skipHeaders: ReadonlySet<string>;
  readonly source: ConfigLocation;
}

const descriptions = new Map<string, string>([
  ...patternRules.map((r) => [r.id, r.description] as const),
  ...Object.entries(protocolRules).map(([id, r]) => [id, r.description] as const),
]);

export function describeWafRule(id: string): string | null {
  return descriptions.get(id) ?? null;
}

/** Unknown rule ids in exceptions are config errors: a typo would silently not except anything. */
export function createWafCheck(options: WafCheckOptions): Check {
  const { config } = options;
  const exceptions = new Map<string, Set<string>>();
  config.exceptions.forEach((e, i) => {
    if (!allRuleIds.has(e.rule)) throw new WafConfigError(['exceptions', i, 'rule'], `unknown WAF rule "${e.rule}" (see docs/web-protections.md for the rule list)`);
    let set = exceptions.get(e.rule);
    if (!set) { set = new Set(); exceptions.set(e.rule, set); }
    set.add(e.part);
  });
  config.disabledRules.forEach((id, i) => {
    if (!allRuleIds.has(id)) throw new WafConfigError(['disabledRules', i], `unknown WAF rule "${id}"`);
  });
  const engine = createWafEngine({ paranoia: config.paranoia, disabledRules: new Set(config.disabledRules), exceptions, skipHeaders: options.skipHeaders });
  const passed: Verdict = { kind: 'continue', evidence: { mode: config.mode, paranoia: config.paranoia, rules: engine.ruleIds.length } };
  const detect = config.mode === 'detect';
  return {
    id: 'waf',
    phase: 'pre-auth',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      const matches = engine.inspect(ctx, detect);
      if (matches.length === 0) return passed;
      const first = matches[0]!;
      const evidence = {
        mode: config.mode, paranoia: config.paranoia, rule: first.rule, attack: first.attack, rule_paranoia: first.paranoia,
        part: first.part, fragment: first.fragment, rule_description: describeWafRule(first.rule),
        ...(matches.length > 1 ? { also_matched: matches.slice(1).map((m) => `${m.rule} at ${m.part}: ${m.fragment.slice(0, 60)}`) } : {}),
      };
      // Detect-only: the request goes through, and the trace records what would have been blocked.
      if (detect) return { kind: 'continue', evidence: { ...evidence, would_block: true } };
      return { kind: 'deny', code: 'waf_blocked', evidence, detail: `Blocked by web application firewall rule ${first.rule}.` };
    },
  };
}
