import { api } from './api.js';
import { h, notice, table, time } from './dom.js';

export async function policiesPage() {
  const { items } = await api('GET', '/v1/policies');
  const who = (s) => [...s.consumers.map((c) => `app ${c}`), ...s.roles.map((r) => `role ${r}`)].join(', ');
  return h('section', {}, h('h1', {}, 'Access policies'),
    table(['Policy', 'Tenant', 'API', 'Effect', 'Subjects', 'Methods', 'Version'], items.map((p) => [
      h('a', { href: `#/policies/${encodeURIComponent(p.id)}` }, p.id), p.tenant, p.data.api, p.data.effect === 'deny' ? '⛔ deny' : '✓ allow',
      who(p.data.subjects), p.data.methods.join(', ') || 'all', `v${p.version}`])));
}

function flipsView(r) {
  if (!r.flips.length) return notice('info', `No decision would change: ${r.evaluated} recent requests re-decided under state v${r.stateVersion} and under the change.`);
  const d = (x) => `${x.allowed ? '✓ allowed' : `✗ refused ${x.code ?? ''}`}${x.decidedBy ? ` (${x.decidedBy})` : ''}`;
  return h('div', {}, notice('info', `${r.flips.length} of ${r.evaluated} recent requests would be decided differently. Nothing was applied.`),
    table(['Request', 'Call', 'Consumer', 'Now', 'With the change'], r.flips.map((f) => [h('a', { href: `#/request/${encodeURIComponent(f.requestId)}` }, f.requestId), `${f.method} ${f.path}`, f.consumer ?? '—', d(f.now), d(f.proposed)])));
}

export async function policyPage(id) {
  const [{ item: p }, audit] = await Promise.all([api('GET', `/v1/policies/${encodeURIComponent(id)}`), api('GET', `/v1/audit?kind=policy&id=${encodeURIComponent(id)}&limit=50`)]);
  const editor = h('textarea', { id: 'policy-json', rows: 16, spellcheck: 'false' }, JSON.stringify(p.data, null, 2));
  const out = h('div', { 'aria-live': 'polite' });
  const parse = () => JSON.parse(editor.value);
  const run = async (fn) => { try { out.replaceChildren(await fn()); } catch (err) { out.replaceChildren(notice('error', err.message)); } };
  return h('section', {}, h('h1', {}, `Policy ${p.id}`),
    h('p', {}, `Tenant ${p.tenant} · API ${p.data.api} · current version v${p.version}`),
    h('h2', {}, 'Versions'),
    table(['State version', 'When', 'Who', 'Change', 'Before → after'], audit.items.map((a) => [`v${a.version}`, time(a.at), `${a.actor.id} (${a.actor.role})`, `${a.action}: ${a.summary}`,
      h('details', {}, h('summary', {}, 'Show'), h('pre', {}, `before:\n${JSON.stringify(a.before, null, 2)}\n\nafter:\n${JSON.stringify(a.after, null, 2)}`))])),
    h('h2', {}, 'Change it'),
    h('label', { for: 'policy-json' }, 'The policy as JSON'), editor,
    h('p', { class: 'actions' },
      h('button', { type: 'button', onclick: () => run(async () => flipsView(await api('POST', '/v1/dry-run', { changes: [{ op: 'put', kind: 'policy', data: parse() }], last: 500 }))) }, 'Dry-run against the last 500 requests'),
      ' ',
      h('button', { type: 'button', class: 'danger', onclick: () => run(async () => { const { id: _id, ...rest } = parse(); const r = await api('PATCH', `/v1/policies/${encodeURIComponent(id)}`, rest); return notice('info', `Saved as state v${r.stateVersion}. Reload to see the new version.`); }) }, 'Save')),
    out);
}
