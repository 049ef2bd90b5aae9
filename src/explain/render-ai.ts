import type { TraceRecord } from '../log/trace.ts';

// The AI gateway's part of `pinpoint explain`'s text: which model answered (after which
// fallbacks), the provider tries in order, and the tokens and cost charged for the request.
// The same facts are in --json (`extra`, `upstream.attempts`).

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function renderAiSection(t: TraceRecord): string[] {
  const e = t.extra ?? {};
  const isAi = typeof e.ai_model === 'string' || (t.upstream?.name.startsWith('ai:') ?? false);
  if (!isAi) return [];
  const lines = ['', 'AI gateway:'];
  if (typeof e.ai_model === 'string') {
    const served = typeof e.ai_served_by === 'string' ? e.ai_served_by : null;
    lines.push(`  model     ${e.ai_model}${served && served !== e.ai_model ? ` → served by ${served} (fallback)` : served ? ` (served by it)` : ''}${typeof e.ai_provider === 'string' ? `, provider ${e.ai_provider}` : ''}${e.stream === true ? ', streamed' : ''}`);
  }
  const attempts = t.upstream?.attempts ?? [];
  if (attempts.length) {
    lines.push(`  provider tries (${attempts.length}):`);
    attempts.forEach((a, i) => lines.push(`    ${i + 1}. ${a.target.padEnd(32)} ${a.status !== undefined ? String(a.status) : '-'.padStart(3)}${a.error ? `  ${a.error}` : ''}`.trimEnd()));
  }
  const p = num(e.prompt_tokens);
  const c = num(e.completion_tokens);
  const cost = num(e.cost_usd);
  if (p !== null || c !== null) {
    const total = (p ?? 0) + (c ?? 0);
    const marks = [e.usage_estimated === true ? 'estimated: the provider reported no usage' : null, e.usage_complete === false ? 'incomplete stream' : null].filter(Boolean);
    lines.push(`  usage     ${p ?? 0} prompt + ${c ?? 0} completion = ${total} tokens${cost !== null ? `, cost $${cost.toFixed(9).replace(/0+$/, '').replace(/\.$/, '')}` : ''}${marks.length ? ` (${marks.join('; ')})` : ''}`);
  } else if (t.status < 400 || t.code === null) {
    lines.push('  usage     none recorded');
  } else {
    lines.push('  usage     none charged (refused before a model answered)');
  }
  const extras = [num(e.chunks) !== null ? `${e.chunks} chunks` : null, typeof e.finish_reason === 'string' ? `finish ${e.finish_reason}` : null, typeof e.stream_error === 'string' ? `stream broke: ${e.stream_error}` : null].filter(Boolean);
  if (extras.length) lines.push(`  answer    ${extras.join(', ')}`);
  return lines;
}
