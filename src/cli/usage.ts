import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { periodRange } from '../ai/quota-ledger.ts';
import { usageDimensions, usageReport, type UsageDimension } from '../ai/usage-report.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import { dataDirDatabase } from './explain.ts';
import { UsageError } from './serve.ts';

export const usageUsage = `pinpoint usage [--by consumer,model] [--period day|month|all] [--since ISO] [--until ISO]
               [--tenant T] [--consumer C] [--model M] [--data-dir DIR] [--json]
  AI gateway tokens and cost, aggregated by any of: ${usageDimensions.join(', ')}.
  --period: the current UTC day or month (default month); --since/--until override it.`;

export async function usageCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    by: { type: 'string', default: 'consumer,model' }, period: { type: 'string', default: 'month' }, since: { type: 'string' }, until: { type: 'string' },
    tenant: { type: 'string' }, consumer: { type: 'string' }, model: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false },
  } });
  const groupBy = values.by === '' ? [] : values.by.split(',').map((s) => s.trim());
  for (const d of groupBy) if (!(usageDimensions as readonly string[]).includes(d)) throw new UsageError(`--by: "${d}" is not one of ${usageDimensions.join(', ')}`);
  if (!['day', 'month', 'all'].includes(values.period)) throw new UsageError('--period: day, month or all');
  const now = Date.now();
  const range = values.period === 'all' ? { start: 0, end: 8.64e15 } : periodRange(values.period as 'day' | 'month', now);
  let from = range.start;
  let to = range.end;
  const time = (flag: string, v: string) => { const n = Date.parse(v); if (Number.isNaN(n)) throw new UsageError(`--${flag}: not a date: ${v}`); return n; };
  if (values.since) from = time('since', values.since);
  if (values.until) to = time('until', values.until);
  const file = dataDirDatabase(values['data-dir']);
  if (!existsSync(file)) { process.stderr.write(`pinpoint usage: no database at ${file}; pass the server's --data-dir\n`); return 1; }
  const db = openDatabase(file, { readOnly: true });
  try {
    const lines = usageReport(db, { from, to, groupBy: groupBy as UsageDimension[], tenant: values.tenant, consumer: values.consumer, model: values.model });
    if (values.json) { process.stdout.write(`${JSON.stringify({ from: new Date(from).toISOString(), to: to >= 8.64e15 ? null : new Date(to).toISOString(), lines }, null, 2)}\n`); return 0; }
    const span = values.period === 'all' && !values.since && !values.until ? 'all time' : `${new Date(from).toISOString()} .. ${to >= 8.64e15 ? 'now' : new Date(to).toISOString()}`;
    process.stdout.write(`AI usage, ${span}\n`);
    if (lines.length === 0) { process.stdout.write('  no AI requests recorded in this range\n'); return 0; }
    const header = [...groupBy, 'requests', 'prompt', 'completion', 'total', 'cost (USD)'];
    const rows = lines.map((l) => [...groupBy.map((d) => l.group[d as UsageDimension] ?? '-'), String(l.requests), String(l.promptTokens), String(l.completionTokens), String(l.totalTokens), l.costUsd.toFixed(6)]);
    const total = lines.reduce((a, l) => ({ r: a.r + l.requests, p: a.p + l.promptTokens, c: a.c + l.completionTokens, t: a.t + l.totalTokens, n: a.n + l.costNanoUsd }), { r: 0, p: 0, c: 0, t: 0, n: 0 });
    rows.push([...groupBy.map((_d, i) => (i === 0 ? 'TOTAL' : '')), String(total.r), String(total.p), String(total.c), String(total.t), (total.n / 1e9).toFixed(6)]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => '  ' + r.map((c, i) => (i >= groupBy.length ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
    process.stdout.write(`${fmt(header)}\n${rows.map(fmt).join('\n')}\n`);
    return 0;
  } finally {
    db.close();
  }
}
