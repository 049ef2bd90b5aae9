import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { patternRules, protocolRules } from '../../src/waf/rules.ts';

test('docs/web-protections.md lists every WAF rule with its class, paranoia level and description', () => {
  const doc = readFileSync(new URL('../../docs/web-protections.md', import.meta.url), 'utf8');
  for (const r of patternRules) assert.ok(doc.includes(`| \`${r.id}\` | ${r.attack} | ${r.paranoia} | ${r.description.replace(/\|/g, '\\|')} |`), `${r.id} is documented as in rules.ts`);
  for (const [id, r] of Object.entries(protocolRules)) assert.ok(doc.includes(`| \`${id}\` | protocol | ${r.paranoia} | ${r.description} |`), `${id} is documented as in rules.ts`);
});
