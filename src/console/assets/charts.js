import { h, hhmm, s, table } from './dom.js';

// Stacked bar charts over time as inline SVG. Readable without colour: every series has its
// own fill pattern as well as its colour, a legend names each pattern in text, every bar has a
// <title>, and a data table with the same numbers sits under the chart.

const W = 960; const H = 240; const PAD = { l: 44, r: 36, t: 16, b: 28 };

/** Fill patterns, one per series; the legend draws the same swatch next to the series name. */
const PATTERNS = [
  { id: 'solid', draw: (c) => s('rect', { width: 8, height: 8, fill: c }) },
  { id: 'hatch', draw: (c) => [s('rect', { width: 8, height: 8, fill: '#fff' }), s('path', { d: 'M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4', stroke: c, 'stroke-width': 2.2 })] },
  { id: 'dots', draw: (c) => [s('rect', { width: 8, height: 8, fill: '#fff' }), s('circle', { cx: 4, cy: 4, r: 2.2, fill: c })] },
  { id: 'cross', draw: (c) => [s('rect', { width: 8, height: 8, fill: '#fff' }), s('path', { d: 'M0,4 h8 M4,0 v8', stroke: c, 'stroke-width': 1.8 })] },
  { id: 'hlines', draw: (c) => [s('rect', { width: 8, height: 8, fill: '#fff' }), s('path', { d: 'M0,2 h8 M0,6 h8', stroke: c, 'stroke-width': 1.6 })] },
  { id: 'vlines', draw: (c) => [s('rect', { width: 8, height: 8, fill: '#fff' }), s('path', { d: 'M2,0 v8 M6,0 v8', stroke: c, 'stroke-width': 1.6 })] },
  { id: 'checks', draw: (c) => [s('rect', { width: 8, height: 8, fill: '#fff' }), s('rect', { width: 4, height: 4, fill: c }), s('rect', { x: 4, y: 4, width: 4, height: 4, fill: c })] },
];
const COLOURS = ['#1a7f37', '#b42318', '#0b57d0', '#9a6700', '#6e40c9', '#bf3989', '#57606a'];

let chartSeq = 0;

function defs(prefix, series) {
  return s('defs', {}, series.map((x, i) => s('pattern', { id: `${prefix}-p${i}`, width: 8, height: 8, patternUnits: 'userSpaceOnUse' }, PATTERNS[x.pattern % PATTERNS.length].draw(x.colour))));
}

function swatch(prefix, i) {
  return s('svg', { width: 18, height: 12, 'aria-hidden': 'true', class: 'swatch' }, s('rect', { width: 18, height: 12, fill: `url(#${prefix}-p${i})`, stroke: '#1b1f24', 'stroke-width': 1 }));
}

/**
 * points: [{ t, values: number[] }] (one value per series, stacked bottom-up);
 * series: [{ label }]; markers: [{ t, label }] drawn as numbered vertical lines.
 */
export function stackedBars({ title, points, series, bucketMs, markers = [], unit = 'requests' }) {
  const prefix = `chart${++chartSeq}`;
  const styled = series.map((x, i) => ({ ...x, pattern: x.pattern ?? i, colour: x.colour ?? COLOURS[i % COLOURS.length] }));
  const max = Math.max(1, ...points.map((p) => p.values.reduce((a, b) => a + b, 0)));
  const plotW = W - PAD.l - PAD.r; const plotH = H - PAD.t - PAD.b;
  const t0 = points[0]?.t ?? 0; const span = Math.max(bucketMs, (points.at(-1)?.t ?? 0) + bucketMs - t0);
  const x = (t) => PAD.l + ((t - t0) / span) * plotW;
  const bw = Math.max(1, (bucketMs / span) * plotW - 1);
  const y = (v) => PAD.t + plotH - (v / max) * plotH;
  const bars = points.flatMap((p) => {
    let base = 0;
    const total = p.values.reduce((a, b) => a + b, 0);
    return p.values.map((v, i) => {
      if (v <= 0) return null;
      const rect = s('rect', { class: `bar-seg s${i}`, x: x(p.t).toFixed(1), y: y(base + v).toFixed(1), width: bw.toFixed(1), height: Math.max(1, (v / max) * plotH).toFixed(1), fill: `url(#${prefix}-p${i})`, stroke: styled[i].colour, 'stroke-width': 0.6, 'data-value': v },
        s('title', {}, `${hhmm(p.t)}: ${v} ${styled[i].label} of ${total} ${unit}`));
      base += v;
      return rect;
    });
  });
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const timeTicks = points.filter((_p, i) => i % Math.max(1, Math.round(points.length / 6)) === 0 && i < points.length - 2);
  const marks = markers.map((m, i) => s('g', { class: 'marker' },
    s('line', { x1: x(m.t).toFixed(1), x2: x(m.t).toFixed(1), y1: PAD.t, y2: PAD.t + plotH, stroke: '#1b1f24', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' }),
    s('text', { x: x(m.t).toFixed(1), y: PAD.t - 3, 'font-size': 12, 'font-weight': 700, 'text-anchor': 'middle' }, `▼${i + 1}`),
    s('title', {}, `Marker ${i + 1}: ${m.label}`)));
  const titleId = `${prefix}-title`;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': titleId, class: 'chart' },
    s('title', { id: titleId }, `${title}: bar chart, ${points.length} buckets of ${Math.round(bucketMs / 1000)} s; the numbers are in the data table below.`),
    defs(prefix, styled),
    ticks.map((v) => [s('line', { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), stroke: '#d0d7de' }), s('text', { x: PAD.l - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11 }, String(v))]),
    timeTicks.map((p) => s('text', { x: x(p.t), y: H - 8, 'font-size': 11 }, hhmm(p.t))),
    bars, marks);
  const legend = h('ul', { class: 'legend' }, styled.map((x2, i) => h('li', {}, swatch(prefix, i), ` ${x2.label} (${PATTERNS[x2.pattern % PATTERNS.length].id})`)),
    markers.length ? h('li', {}, '▼n: a marker (see "What changed")') : null);
  const rows = points.filter((p) => p.values.some((v) => v > 0)).map((p) => [`${hhmm(p.t)} UTC`, ...p.values.map(String), String(p.values.reduce((a, b) => a + b, 0))]);
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, title), svg, legend,
    h('details', {}, h('summary', {}, `Data table (${rows.length} buckets with traffic)`),
      table(['Bucket start', ...styled.map((x2) => x2.label), 'Total'], rows, `${title}, per ${Math.round(bucketMs / 1000)} s bucket`)));
}
