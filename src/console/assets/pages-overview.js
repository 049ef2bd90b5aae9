import { api } from './api.js';
import { stackedBars } from './charts.js';
import { h, statusBadge, table, time } from './dom.js';

// The overview: time series of requests and refusals (by reason) from /v1/stats/series, the
// jumps "what changed" found with the change that preceded them, top offenders, and counts of
// the latest logged requests.

const REFUSAL_COLOURS = ['#b42318', '#0b57d0', '#9a6700', '#6e40c9', '#bf3989', '#57606a', '#1b1f24'];
const RANGES = { '1h': 3600_000, '6h': 6 * 3600_000, '24h': 24 * 3600_000 };
const requestLink = (id) => h('a', { href: `#/request/${encodeURIComponent(id)}` }, id);
const appLink = (id) => (id && id !== '(none)' ? h('a', { href: `#/apps/${encodeURIComponent(id)}` }, id) : id ?? '—');
const codesText = (codes) => Object.entries(codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ×${n}`).join(', ') || '—';

function countBy(items, key) {
  const m = new Map();
  for (const i of items) { const k = key(i) ?? '(none)'; m.set(k, (m.get(k) ?? 0) + 1); }
  return [...m].sort((a, b) => b[1] - a[1]);
}

/** Horizontal bars: each with its label and number in text, the bar only adds the shape. */
function bars(title, entries, total) {
  return h('figure', { class: 'bars' }, h('figcaption', {}, title),
    h('ul', {}, entries.slice(0, 10).map(([label, n]) => h('li', {},
      h('span', { class: 'bar-label' }, label), h('span', { class: 'bar', style: null, 'data-w': String(Math.round((n / Math.max(total, 1)) * 100)) }), h('span', { class: 'bar-n' }, `${n}`)))));
}

function sizeBars(root) {
  // Widths through CSSOM, since the content security policy refuses inline style attributes.
  for (const b of root.querySelectorAll('.bar')) b.style.width = `${b.dataset.w}%`;
}

function jumpLabel(j) {
  return `${j.refused} refusals (baseline ${j.baseline}/bucket) under config v${j.configVersion}${j.stateVersion !== null ? `, state v${j.stateVersion}` : ''}`;
}

function changeList(c) {
  if (!c.changes.length) return c.summary;
  const more = c.changes.length > 5 ? `; and ${c.changes.length - 5} more (${c.summary})` : '';
  return c.changes.slice(0, 5).join('; ') + more;
}

function whatChanged(jumps) {
  if (!jumps.length) return h('p', { class: 'help' }, 'No jump in refusals in this range (a jump: at least 5 refusals in a bucket and 3× the buckets before it).');
  return h('ol', { class: 'changes' }, jumps.map((j, i) => h('li', { 'data-marker': String(i + 1) },
    h('strong', {}, `▼${i + 1} ${time(j.at)}: `), jumpLabel(j), `; reasons: ${codesText(j.codes)}; routes: ${codesText(j.routes)}.`,
    j.configChange ? h('div', {}, `Preceded by config v${j.configChange.version}, loaded ${time(j.configChange.loadedAt)} from ${j.configChange.file}.`) : null,
    j.stateChange ? h('div', {}, `Preceded by state v${j.stateChange.version} (${time(j.stateChange.at)}, by ${j.stateChange.actor?.id ?? '?'}): ${changeList(j.stateChange)}.`) : null,
    !j.configChange && !j.stateChange ? h('div', { class: 'help' }, 'The same versions decided the buckets before: no config or state change preceded it (a client changed?).') : null)));
}

async function seriesSection(range) {
  const to = Date.now();
  const span = RANGES[range];
  const bucket = Math.round(span / 60_000);
  const q = `from=${to - span}&to=${to}&bucket=${bucket}`;
  const [series, changes, top, topIp] = await Promise.all([
    api('GET', `/v1/stats/series?${q}&by=reason`), api('GET', `/v1/stats/changes?${q}`),
    api('GET', `/v1/stats/top?from=${to - span}&to=${to}&by=consumer&limit=10`), api('GET', `/v1/stats/top?from=${to - span}&to=${to}&by=clientIp&limit=5`)]);
  const points = series.points;
  const markers = changes.jumps.map((j) => ({ t: j.at, label: jumpLabel(j) }));
  const reasonTotals = new Map();
  for (const p of points) for (const [k, n] of Object.entries(p.by)) reasonTotals.set(k, (reasonTotals.get(k) ?? 0) + n);
  const reasons = [...reasonTotals].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const shown = reasons.slice(0, 6);
  const other = reasons.length > shown.length;
  const byReason = points.map((p) => ({ t: p.t, values: [...shown.map((r) => p.by[r] ?? 0), ...(other ? [reasons.slice(6).reduce((a, r) => a + (p.by[r] ?? 0), 0)] : [])] }));
  const total = points.reduce((a, p) => a + p.total, 0);
  const refused = points.reduce((a, p) => a + p.refused, 0);
  return [
    h('p', {}, 'Range: ', Object.keys(RANGES).map((r) => [h('a', { href: `#/?range=${r}`, 'aria-current': r === range ? 'page' : null }, `last ${r}`), ' ']),
      ` · ${total} requests, ${refused} refused, in ${Math.round(series.bucketMs / 1000)} s buckets (times in UTC).`),
    stackedBars({ title: 'Requests: allowed and refused', bucketMs: series.bucketMs, markers, unit: 'requests',
      points: points.map((p) => ({ t: p.t, values: [p.total - p.refused, p.refused] })), series: [{ label: 'allowed', colour: '#1a7f37', pattern: 0 }, { label: 'refused', colour: '#b42318', pattern: 1 }] }),
    reasons.length ? stackedBars({ title: 'Refusals by reason code', bucketMs: series.bucketMs, markers, unit: 'refusals', points: byReason,
      // Refusal colours and patterns only (no green, no solid fill: the allowed series' look).
      series: [...shown.map((r) => ({ label: r })), ...(other ? [{ label: 'other reasons' }] : [])].map((x, i) => ({ ...x, colour: REFUSAL_COLOURS[i % REFUSAL_COLOURS.length], pattern: i + 1 })) }) : null,
    h('h2', {}, 'What changed'), whatChanged(changes.jumps),
    h('h2', {}, 'Top offenders'),
    h('div', { class: 'grid' },
      table(['Consumer', 'Refused', 'Of requests', 'Why'], top.items.map((o) => [appLink(o.key), String(o.refused), String(o.total), codesText(o.codes)]), 'By consumer'),
      table(['Client IP', 'Refused', 'Of requests', 'Why'], topIp.items.map((o) => [o.key, String(o.refused), String(o.total), codesText(o.codes)]), 'By client IP')),
  ];
}

export async function overviewPage(query) {
  const range = Object.hasOwn(RANGES, query.get('range') ?? '') ? query.get('range') : '1h';
  const [{ items }, status, series] = await Promise.all([api('GET', '/v1/logs?limit=1000'), api('GET', '/v1/status'), seriesSection(range)]);
  const refused = items.filter((i) => i.status >= 400);
  const node = h('section', {}, h('h1', {}, 'Overview'),
    h('p', {}, `Config v${status.configVersion}, state v${status.stateVersion}${status.lastPropagationMs !== null ? `, last change live in ${status.lastPropagationMs} ms` : ''}.`),
    series,
    h('h2', {}, `The last ${items.length} logged requests`),
    h('dl', { class: 'stats' },
      h('div', {}, h('dt', {}, 'Requests'), h('dd', {}, String(items.length))),
      h('div', { class: 'ok' }, h('dt', {}, 'Allowed'), h('dd', {}, String(items.length - refused.length))),
      h('div', { class: 'deny' }, h('dt', {}, 'Refused'), h('dd', {}, String(refused.length)))),
    h('div', { class: 'grid' },
      bars('Refusals by reason code', countBy(refused, (i) => i.code ?? `upstream ${i.status}`), refused.length),
      bars('Refusals by route', countBy(refused, (i) => i.routeId), refused.length),
      bars('Refusals by consumer', countBy(refused, (i) => i.consumer), refused.length),
      bars('Requests by status', countBy(items, (i) => String(i.status)), items.length)),
    h('h2', {}, 'Latest refusals'),
    table(['Time', 'Request', 'Call', 'Answer', 'Consumer'], refused.slice(0, 10).map((i) => [time(i.ts), requestLink(i.requestId), `${i.method} ${i.path}`, statusBadge(i.status, i.code), i.consumer ?? '—'])),
    h('p', {}, h('a', { href: '#/refused' }, 'Watch refusals live →')));
  sizeBars(node);
  return node;
}
