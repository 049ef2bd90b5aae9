import { parseArgs } from 'node:util';
import { dimensions, timeSeries, topOffenders, type Dimension } from '../analytics/series.ts';
import { findJumps } from '../analytics/what-changed.ts';
import { openReadStores } from './read-store.ts';
import { UsageError } from './serve.ts';

export const statsUsage = `pinpoint stats [--since 1h|30m|2d|ISO] [--until ISO] [--bucket SECONDS] [--by ${dimensions.join('|')}]
               [--top consumer|clientIp|credential|route|tenant] [--route R] [--code C] [--data-dir DIR | --store postgresql://HOST/DB] [--json]
  Requests and refusals over time from the call log (and its hourly rollups), the top
  offenders, and what changed: jumps in refusals with the config/state version behind them.
  --store: a cluster's shared store, for the calls of every node.`;

function parseSince(v: string, now: number): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v);
  if (m) return now - Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--since: not a duration (1h, 30m) or a date: ${v}`);
  return t;
}

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export async function statsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    since: { type: 'string', default: '1h' }, until: { type: 'string' }, bucket: { type: 'string' }, by: { type: 'string', default: 'reason' },
    top: { type: 'string', default: 'consumer' }, route: { type: 'string' }, code: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, store: { type: 'string' },
  } });
  const now = Date.now();
  const to = values.until ? Date.parse(values.until) : now;
  if (Number.isNaN(to)) throw new UsageError(`--until: not a date: ${values.until}`);
  const from = parseSince(values.since, now);
  for (const [flag, v] of [['by', values.by], ['top', values.top]] as const) if (!(dimensions as readonly string[]).includes(v)) throw new UsageError(`--${flag}: one of ${dimensions.join(', ')}`);
  const bucketMs = values.bucket ? Math.round(Number(values.bucket) * 1000) : Math.max(1000, Math.ceil((to - from) / 30 / 1000) * 1000);
  if (!Number.isFinite(bucketMs) || bucketMs <= 0 || (to - from) / bucketMs > 5000) throw new UsageError('--bucket: a positive number of seconds, at most 5000 buckets in the range');
  const stores = await openReadStores('stats', values.store, values['data-dir']);
  if (!stores) return 1;
  try {
    const scope = { from, to, route: values.route, code: values.code };
    const points = await timeSeries(stores.store.log, scope, bucketMs, values.by as Dimension);
    const top = await topOffenders(stores.store.log, scope, values.top as Dimension, 10);
    const jumps = await findJumps(stores.store, stores.state, scope, { bucketMs, minRefusals: 5, factor: 3 });
    if (values.json) { process.stdout.write(`${JSON.stringify({ from, to, bucketMs, by: values.by, points, top, jumps }, null, 2)}\n`); return 0; }
    const total = points.reduce((a, p) => a + p.total, 0), refused = points.reduce((a, p) => a + p.refused, 0);
    process.stdout.write(`Calls ${iso(from)} .. ${iso(to)}: ${total} requests, ${refused} refused (${total ? ((refused / total) * 100).toFixed(1) : '0.0'}%)\n`);
    process.stdout.write(`\nOver time (bucket ${bucketMs / 1000}s, by ${values.by}; empty buckets omitted):\n`);
    const busy = points.filter((p) => p.total > 0);
    if (busy.length === 0) process.stdout.write('  no requests in this range\n');
    for (const p of busy) {
      const parts = Object.entries(p.by).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${k} ${n}`).join(', ');
      process.stdout.write(`  ${iso(p.t)}  ${String(p.total).padStart(6)} req  ${String(p.refused).padStart(6)} refused  ${parts}\n`);
    }
    process.stdout.write(`\nTop offenders by ${values.top}:\n`);
    if (top.length === 0) process.stdout.write('  nobody was refused\n');
    for (const o of top) process.stdout.write(`  ${o.key.padEnd(28)} ${String(o.refused).padStart(6)} refused of ${o.total}  ${Object.entries(o.codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}\n`);
    process.stdout.write('\nWhat changed:\n');
    if (jumps.length === 0) process.stdout.write('  no jump in refusals\n');
    for (const j of jumps) {
      process.stdout.write(`  ${iso(j.at)}: ${j.refused} refusals (baseline ${j.baseline}/bucket): ${Object.entries(j.codes).map(([c, n]) => `${c} ${n}`).join(', ')}\n`);
      process.stdout.write(`    decided under config v${j.configVersion}, state v${j.stateVersion ?? '-'}\n`);
      if (j.configChange) process.stdout.write(`    config v${j.configChange.version} loaded ${iso(j.configChange.loadedAt)} from ${j.configChange.file}\n`);
      if (j.stateChange) process.stdout.write(`    state v${j.stateChange.version} at ${iso(j.stateChange.at)} by ${j.stateChange.actor.id}: ${j.stateChange.summary}${j.stateChange.changes.length ? ` (${j.stateChange.changes.join('; ')})` : ''}\n`);
      if (!j.configChange && !j.stateChange) process.stdout.write('    same versions as before the jump: the traffic changed, not the config\n');
    }
    return 0;
  } finally {
    await stores.close();
  }
}
