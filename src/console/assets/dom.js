// A tiny element builder: every text goes through text nodes, never innerHTML, so data from
// the call log (paths, headers, names) cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function time(ts) { return new Date(ts).toISOString().replace('T', ' ').slice(0, 19) + 'Z'; }

/** A status shown as text and colour together, so it reads without colour too. */
export function statusBadge(status, code) {
  const kind = status >= 500 ? 'err' : status >= 400 ? 'deny' : 'ok';
  const label = kind === 'ok' ? 'allowed' : kind === 'deny' ? 'refused' : 'error';
  return h('span', { class: `badge ${kind}` }, `${status} ${label}`, code ? ` · ${code}` : '');
}

export function table(headers, rows, caption) {
  return h('table', {}, caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))) : h('tr', {}, h('td', { colspan: headers.length }, 'Nothing here.'))));
}

export function notice(kind, ...text) { return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('strong', {}, kind === 'error' ? 'Error: ' : 'Note: '), ...text); }

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The same builder for SVG elements (charts are drawn as inline SVG, text through text nodes). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const hhmm = (ts) => new Date(ts).toISOString().slice(11, 16);
