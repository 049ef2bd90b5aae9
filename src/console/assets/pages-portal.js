import { api } from './api.js';
import { h, notice, table } from './dom.js';

const perMethod = (m) => Object.entries(m).map(([k, v]) => `${k}: ${v.join(' ')}`).join('; ') || '—';
const limit = (e) => [e.rateLimit ? `${e.rateLimit.limit} per ${e.rateLimit.windowSeconds} s per ${e.rateLimit.by}` : null, e.quota ? `quota ${e.quota.limit} per ${e.quota.period} per ${e.quota.by}` : null].filter(Boolean).join('; ') || 'none';

export async function portalPage() {
  const { items } = await api('GET', '/v1/catalogue');
  return h('section', {}, h('h1', {}, 'Developer portal'),
    h('p', {}, 'The APIs you may read or subscribe to. Each page lists methods, authentication, scopes and roles, limits, and every reason code an endpoint can answer with its meaning and fix.'),
    table(['API', 'Name', 'Version', 'Status', 'Tenant', 'Visibility', 'Endpoints'], items.map((a) => [h('a', { href: `#/portal/${encodeURIComponent(a.id)}` }, a.id), a.name, a.version, a.status, a.tenant, a.visibility, String(a.endpoints.length)])));
}

export async function portalApiPage(id) {
  const [{ item: a }, consumers] = await Promise.all([api('GET', `/v1/catalogue/${encodeURIComponent(id)}`), api('GET', '/v1/consumers')]);
  const out = h('div', { 'aria-live': 'polite' });
  const select = h('select', { id: 'sub-consumer', name: 'consumer' }, consumers.items.map((c) => h('option', { value: c.id }, `${c.id} (${c.tenant})`)));
  const note = h('input', { id: 'sub-note', name: 'note' });
  const openapi = h('pre', { class: 'openapi' });
  return h('section', {}, h('h1', {}, `${a.name} v${a.version}`),
    h('p', {}, `API ${a.id} of tenant ${a.tenant} · ${a.status}${a.successor ? ` · successor ${a.successor}` : ''}${a.sunset ? ` · sunset ${a.sunset}` : ''} · visibility ${a.visibility}`),
    a.endpoints.map((e) => h('article', { class: 'endpoint card' },
      h('h2', {}, `${e.methods.join(', ')} ${e.path}`),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Authentication'), h('dd', {}, e.auth.map((x) => (x === 'apiKey' ? 'API key (X-API-Key header)' : 'JWT (Authorization: Bearer)')).join(' or ') || 'none'),
        h('dt', {}, 'Scopes'), h('dd', {}, perMethod(e.scopes)),
        h('dt', {}, 'Roles'), h('dd', {}, perMethod(e.roles)),
        h('dt', {}, 'Rate limit and quota'), h('dd', {}, limit(e)),
        e.ipAllow.length ? [h('dt', {}, 'Client IP'), h('dd', {}, e.ipAllow.join(', '))] : null,
        e.ownerOnly.length ? [h('dt', {}, 'Owner only'), h('dd', {}, e.ownerOnly.map((o) => `${o.methods.join(', ')}: only the owner of {${o.param}}`).join('; '))] : null),
      h('details', {}, h('summary', {}, `${e.reasons.length} reason codes this endpoint can answer`),
        table(['Code', 'Status', 'Meaning', 'What to do', 'Operator fixes'], e.reasons.map((r) => [h('code', {}, r.code), String(r.status), r.title, r.hint, r.fixes.join('; ')]))))),
    a.policies.length ? [h('h2', {}, 'Who is granted access'), table(['Policy', 'Effect', 'Apps', 'Roles', 'Methods'], a.policies.map((p) => [p.id, p.effect, p.subjects.consumers.join(', ') || '—', p.subjects.roles.join(', ') || '—', p.methods.join(', ') || 'all']))] : null,
    h('h2', {}, 'Request a subscription'),
    h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await api('POST', '/v1/subscriptions', { consumer: select.value, api: a.id, ...(note.value ? { note: note.value } : {}) });
        out.replaceChildren(notice('info', `Subscription ${r.item.id} is ${r.item.data.status}; the API's tenant approves it.`));
      } catch (err) { out.replaceChildren(notice('error', err.message)); }
    } }, h('label', { for: 'sub-consumer' }, 'Your app'), select, h('label', { for: 'sub-note' }, 'Note'), note, h('button', { type: 'submit' }, 'Request subscription')),
    out,
    h('h2', {}, 'OpenAPI'),
    h('p', {}, h('button', { type: 'button', onclick: async () => { openapi.textContent = JSON.stringify(await api('GET', `/v1/catalogue/${encodeURIComponent(a.id)}/openapi.json`), null, 2); } }, 'Show the OpenAPI 3.1 document'),
      ` (also GET /v1/catalogue/${a.id}/openapi.json with an admin token)`),
    openapi);
}
