import type { CheckRecord } from '../pipeline/types.ts';
import type { Difference, Explanation } from './explain.ts';
import { formatLocation } from './location.ts';
import { renderAiSection } from './render-ai.ts';

const mark: Record<CheckRecord['outcome'], string> = { continue: 'pass', skip: 'skip', deny: 'DENY', not_run: '-', bypassed: 'bypassed' };

export function renderCheckTable(checks: readonly CheckRecord[]): string[] {
  return checks.map((c) => {
    const ev = c.evidence ? ' ' + Object.entries(c.evidence).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0)).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(' ') : v}`).join(', ') : '';
    return `  ${mark[c.outcome].padEnd(8)} ${c.id.padEnd(26)} ${String(c.micros).padStart(5)} µs ${c.code ?? ''}${ev}`.trimEnd();
  });
}

export function renderExplanation(x: Explanation): string {
  const t = x.trace;
  const lines = [
    `request   ${t.requestId}`,
    `when      ${new Date(t.ts).toISOString()}   (${t.durationMs} ms in the gateway)`,
    `request   ${t.method} ${t.path}${t.query} from ${t.clientIp}${t.clientIpVia === 'x-forwarded-for' ? ` (via X-Forwarded-For, peer ${t.peerIp})` : ''}`,
    `route     ${t.routeId ?? '(none)'}   config v${x.configVersion.decidedBy}${x.configVersion.latest !== null && x.configVersion.latest !== x.configVersion.decidedBy ? ` (latest v${x.configVersion.latest})` : ''}${t.stateVersion !== undefined ? `, state v${t.stateVersion}` : ''}`,
    `identity  ${t.identity ? `${t.identity.kind} ${t.identity.credentialId}, consumer ${t.identity.consumerId ?? '(none)'}, tenant ${t.identity.tenantId ?? '(none)'}, scopes [${t.identity.scopes.join(' ')}]` : '(not authenticated)'}`,
    `answer    ${t.status}${t.code ? ` ${t.code}` : ''} by the ${t.answeredBy === 'upstream' ? 'upstream (relayed unchanged)' : t.answeredBy === 'gateway' ? 'gateway' : 'nobody (client left)'}`,
    '',
    x.summary,
    '',
    'checks, in order:',
    ...renderCheckTable(t.checks),
    ...renderAiSection(t),
  ];
  if (x.refusing) {
    lines.push('', `refused by   ${x.refusing.id}${x.ruleLocation ? ` — rule at ${formatLocation(x.ruleLocation)}` : ''}`);
    if (x.refusing.detail) lines.push(`told caller  ${x.refusing.detail}`);
  }
  if (x.findings.length) lines.push('', 'diagnosis:', ...x.findings.map((f) => `  - ${f}`));
  if (x.reason) {
    lines.push('', `${x.reason.code}: ${x.reason.title}. Usual causes and fixes:`);
    x.reason.causes.forEach((c, i) => lines.push(`  - ${c}\n      fix: ${x.reason!.fixes[i] ?? x.reason!.fixes.at(-1)}`));
  }
  return lines.join('\n') + '\n';
}

export function renderComparison(refusedId: string, okId: string, diffs: readonly Difference[]): string {
  if (diffs.length === 0) return `No difference found between ${refusedId} and ${okId} in what the gateway records.\n`;
  const w = Math.max(...diffs.map((d) => d.field.length), 10);
  const lines = [`What differs between ${refusedId} (refused) and ${okId} (succeeded):`, '', `  ${'field'.padEnd(w)}  ${'refused'.padEnd(30)}  succeeded`];
  for (const d of diffs) lines.push(`  ${d.field.padEnd(w)}  ${d.refused.padEnd(30)}  ${d.succeeded}`);
  return lines.join('\n') + '\n';
}
