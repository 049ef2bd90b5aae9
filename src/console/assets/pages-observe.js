import { api } from './api.js';
import { h, notice, statusBadge, table, time } from './dom.js';

const requestLink = (id) => h('a', { href: `#/request/${encodeURIComponent(id)}` }, id);

export async function refusedPage(query) {
  const code = query.get('code') ?? '';
  const tbody = h('tbody', {});
  const state = h('p', { role: 'status', class: 'help' }, 'Polling every 2 s.');
  let paused = false;
  const pause = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => { paused = !paused; pause.setAttribute('aria-pressed', String(paused)); pause.textContent = paused ? 'Resume' : 'Pause'; } }, 'Pause');
  const filter = h('input', { id: 'code', name: 'code', value: code, placeholder: 'e.g. insufficient_scope' });
  const form = h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); location.hash = filter.value ? `#/refused?code=${encodeURIComponent(filter.value.trim())}` : '#/refused'; } },
    h('label', { for: 'code' }, 'Reason code'), filter, h('button', { type: 'submit' }, 'Filter'), pause);
  const seen = new Set();
  async function poll() {
    if (paused) return;
    try {
      const { items } = await api('GET', `/v1/logs?limit=200${code ? `&code=${encodeURIComponent(code)}` : ''}`);
      const fresh = items.filter((i) => i.status >= 400 && !seen.has(i.requestId)).reverse();
      for (const i of fresh) {
        seen.add(i.requestId);
        tbody.prepend(h('tr', { 'data-request': i.requestId }, [time(i.ts), requestLink(i.requestId), `${i.method} ${i.path}`, statusBadge(i.status, i.code), i.consumer ?? '—', i.tenant ?? '—'].map((c) => h('td', {}, c))));
      }
      while (tbody.children.length > 200) tbody.lastChild.remove();
      state.textContent = `Polling every 2 s; ${seen.size} refusals shown; last poll ${time(Date.now())}.`;
    } catch (err) { state.textContent = `Poll failed: ${err.message}`; }
  }
  await poll();
  const timer = setInterval(poll, 2000);
  const node = h('section', {}, h('h1', {}, 'Refused requests (live)'), form, state,
    h('table', { 'aria-live': 'polite' }, h('thead', {}, h('tr', {}, ['Time', 'Request', 'Call', 'Answer', 'Consumer', 'Tenant'].map((x) => h('th', { scope: 'col' }, x)))), tbody));
  return { node, cleanup: () => clearInterval(timer) };
}

const outcomeText = { continue: 'passed', skip: 'skipped', deny: 'REFUSED', not_run: 'not run', bypassed: 'bypassed' };
const outcomeMark = { continue: '✓', skip: '–', deny: '✗', not_run: '·', bypassed: '↷' };

function loc(l) { return l ? `${l.file ?? ''}${l.line ? `:${l.line}` : ''}${l.path ? ` (${l.path})` : ''}` : ''; }

function checkStep(c) {
  return h('li', { class: `step ${c.outcome}` },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, outcomeMark[c.outcome] ?? '?'),
    h('span', { class: 'check-id' }, c.id), ' ',
    h('span', { class: 'outcome' }, outcomeText[c.outcome] ?? c.outcome),
    c.code ? h('code', {}, ` ${c.code}`) : null,
    c.micros !== undefined ? h('span', { class: 'micros' }, ` ${c.micros} µs`) : null,
    c.detail ? h('div', { class: 'detail' }, c.detail) : null,
    c.rule || c.source ? h('div', { class: 'detail' }, 'Configured at ', h('code', {}, loc(c.rule ?? c.source))) : null,
    c.evidence && Object.keys(c.evidence).length ? h('details', {}, h('summary', {}, 'Evidence'), h('pre', {}, JSON.stringify(c.evidence, null, 2))) : null);
}

export function traceView(x) {
  return h('ol', { class: 'trace', 'aria-label': 'Decision trace, check by check' }, x.checks.map(checkStep));
}

async function compareWithSuccess(req, x, out) {
  out.replaceChildren(h('p', { role: 'status' }, 'Looking for a success on the same route and method…'));
  const { items } = await api('GET', '/v1/logs?limit=1000');
  const ok = items.find((i) => i.routeId === req.routeId && i.method === req.method && i.status < 400);
  if (!ok) { out.replaceChildren(notice('info', `No allowed ${req.method} on route ${req.routeId ?? '(none)'} in the last 1000 requests.`)); return; }
  const y = await api('GET', `/v1/explain/${encodeURIComponent(ok.requestId)}`);
  const ids = [...new Set([...x.checks.map((c) => c.id), ...y.checks.map((c) => c.id)])];
  const cell = (c) => (c ? h('span', { class: `step-inline ${c.outcome}` }, `${outcomeMark[c.outcome] ?? ''} ${outcomeText[c.outcome] ?? c.outcome}${c.code ? ` ${c.code}` : ''}`) : '—');
  out.replaceChildren(h('h2', {}, 'Compared with a success'),
    h('p', {}, 'Allowed request ', requestLink(ok.requestId), ` (${ok.method} ${ok.path}, consumer ${ok.consumer ?? '—'}). Rows that differ are marked.`),
    h('table', { class: 'compare' }, h('thead', {}, h('tr', {}, ['Check', 'This request', 'The success', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ids.map((id) => {
        const a = x.checks.find((c) => c.id === id); const b = y.checks.find((c) => c.id === id);
        const differs = (a?.outcome ?? '') !== (b?.outcome ?? '');
        return h('tr', { class: differs ? 'differs' : '' }, h('th', { scope: 'row' }, id), h('td', {}, cell(a)), h('td', {}, cell(b)), h('td', {}, differs ? 'differs' : 'same'));
      }))));
}

export async function requestPage(id) {
  const x = await api('GET', `/v1/explain/${encodeURIComponent(id)}`);
  const [{ items }, catalogue] = await Promise.all([api('GET', '/v1/logs?limit=1000'), api('GET', '/v1/reasons')]);
  const reason = catalogue.items.find((r) => r.code === x.code);
  const req = items.find((i) => i.requestId === id) ?? { routeId: null, method: '', path: '' };
  const compareOut = h('div', {});
  const refused = x.status >= 400;
  return h('section', {}, h('h1', {}, `Request ${id}`),
    h('p', {}, statusBadge(x.status, x.code), ` ${req.method} ${req.path} · config v${x.configVersion}${x.stateVersion !== null ? ` · state v${x.stateVersion}` : ''}`),
    h('h2', {}, 'What happened'), h('p', { class: 'summary' }, x.summary),
    h('h2', {}, 'Decision trace'), traceView(x),
    x.findings.length ? [h('h2', {}, 'Cause and fix'), h('ul', { class: 'findings' }, x.findings.map((f) => h('li', {}, f)))] : null,
    reason ? h('div', { class: 'card' }, h('h2', {}, `${reason.code}: ${reason.title}`), h('p', {}, h('strong', {}, 'What the caller was told: '), reason.hint),
      table(['Usual cause', 'Fix'], reason.causes.map((c, i) => [c, reason.fixes[i] ?? '—']))) : null,
    refused ? h('p', {}, h('button', { type: 'button', onclick: () => compareWithSuccess(req, x, compareOut).catch((e) => compareOut.replaceChildren(notice('error', e.message))) }, 'Compare with a success')) : null,
    compareOut);
}
