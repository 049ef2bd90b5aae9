import { api } from './api.js';
import { h, notice, table } from './dom.js';

const listOf = (s) => s.split(/[\s,]+/).filter(Boolean);

/** A small form whose submit runs `action` and reports the outcome next to it. */
export function actionForm(label, fields, action, opts = {}) {
  const out = h('div', { class: 'result', 'aria-live': 'polite' });
  const inputs = fields.map(([name, text, attrs = {}]) => [name, h('input', { id: `${opts.prefix ?? 'f'}-${name}`, name, ...attrs })]);
  const form = h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(inputs.map(([n, el]) => [n, el.value.trim()]));
    try { out.replaceChildren(await action(values) ?? notice('info', 'Done.')); } catch (err) { out.replaceChildren(notice('error', err.message)); }
  } }, inputs.map(([name, el], i) => [h('label', { for: el.id }, fields[i][1]), el]), h('button', { type: 'submit' }, label));
  return h('div', {}, form, out);
}

export async function tenantsPage() {
  const { items } = await api('GET', '/v1/tenants');
  return h('section', {}, h('h1', {}, 'Tenants'),
    table(['Tenant', 'Name', 'Status', 'Version'], items.map((t) => [t.id, t.data.name ?? '—', t.data.status, `v${t.version}`])),
    h('h2', {}, 'Create a tenant (operator)'),
    actionForm('Create tenant', [['id', 'Id', { required: true }], ['name', 'Name']], async (v) => {
      await api('POST', '/v1/tenants', { id: v.id, ...(v.name ? { name: v.name } : {}) });
      location.reload();
    }, { prefix: 'tenant' }));
}

export async function appsPage() {
  const { items } = await api('GET', '/v1/consumers');
  return h('section', {}, h('h1', {}, 'Apps and keys'),
    table(['App', 'Tenant', 'Name', 'Status'], items.map((c) => [h('a', { href: `#/apps/${encodeURIComponent(c.id)}` }, c.id), c.tenant, c.data.name ?? '—', c.data.status === 'active' ? 'active' : `⚠ ${c.data.status}`])),
    h('h2', {}, 'Create an app'),
    actionForm('Create app', [['id', 'Id', { required: true }], ['tenant', 'Tenant', { required: true }], ['name', 'Name']], async (v) => {
      await api('POST', '/v1/consumers', { id: v.id, tenant: v.tenant, ...(v.name ? { name: v.name } : {}) });
      location.hash = `#/apps/${encodeURIComponent(v.id)}`;
    }, { prefix: 'app' }));
}

function keyState(k) {
  const now = Date.now();
  if (k.revokedAt) return `revoked (${k.revokedReason ?? 'no reason'})`;
  if (k.expiresAt && Date.parse(k.expiresAt) <= now) return 'expired';
  if (k.notBefore && Date.parse(k.notBefore) > now) return 'not yet valid';
  return k.expiresAt ? `active until ${k.expiresAt}` : 'active, no expiry';
}

/** The secret of a new key: shown here once; the server keeps only its hash. */
function secretCallout(answer) {
  return h('div', { class: 'notice secret', role: 'status' },
    h('strong', {}, 'New key secret (shown once): '), h('code', { class: 'secret-value' }, answer.secret),
    h('p', {}, `Key ${answer.item.id}. Copy it now: Pinpoint stores only its sha256 and cannot show it again.`));
}

export async function appPage(id) {
  const keysPath = `/v1/consumers/${encodeURIComponent(id)}/keys`;
  const [{ item: c }, { items: keys }, subs] = await Promise.all([
    api('GET', `/v1/consumers/${encodeURIComponent(id)}`), api('GET', keysPath), api('GET', '/v1/subscriptions')]);
  const out = h('div', { 'aria-live': 'polite' });
  const keysBox = h('div', {});
  // After an action the table is redrawn from the API (a rotation adds a key and marks the old
  // one replaced) while the answer, with a secret shown once, stays where it is.
  const drawKeys = (items) => keysBox.replaceChildren(table(['Key', 'Scopes', 'State', 'Rotation', 'Actions'], items.map(keyRow)));
  const refreshKeys = async () => drawKeys((await api('GET', keysPath)).items);
  const act = async (fn) => { try { out.replaceChildren(await fn()); await refreshKeys(); } catch (err) { out.replaceChildren(notice('error', err.message)); } };
  function keyRow(k) {
    const d = k.data;
    const reason = h('input', { id: `reason-${k.id}`, name: 'reason', value: 'revoked from the console', 'aria-label': `Reason to revoke ${k.id}` });
    return [k.id, (d.scopes ?? []).join(' ') || '—', keyState(d), d.replacedBy ? `replaced by ${d.replacedBy}` : '—',
      d.revokedAt ? '—' : h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => act(async () => secretCallout(await api('POST', `/v1/keys/${encodeURIComponent(k.id)}/rotate`, { overlapSeconds: 3600 }))) }, `Rotate ${k.id}`),
        reason,
        h('button', { type: 'button', class: 'danger', onclick: () => act(async () => { await api('POST', `/v1/keys/${encodeURIComponent(k.id)}/revoke`, { reason: reason.value || 'revoked from the console' }); return notice('info', `Key ${k.id} revoked; the next request with it is refused with credential_revoked.`); }) }, `Revoke ${k.id}`))];
  }
  drawKeys(keys);
  return h('section', {}, h('h1', {}, `App ${c.id}`),
    h('p', {}, `Tenant ${c.tenant} · ${c.data.name ?? 'no display name'} · status ${c.data.status} · v${c.version}`),
    c.data.jwtSubjects?.length ? h('p', {}, 'JWT subjects: ', c.data.jwtSubjects.join(', ')) : null,
    h('h2', {}, 'Keys'), keysBox, out,
    h('h2', {}, 'Create a key'),
    actionForm('Create key', [['scopes', 'Scopes (space-separated)'], ['expiresAt', 'Expires at (ISO date, optional)']], async (v) =>
      { const shown = secretCallout(await api('POST', keysPath, { scopes: listOf(v.scopes), ...(v.expiresAt ? { expiresAt: v.expiresAt } : {}) })); await refreshKeys(); return shown; }, { prefix: 'key' }),
    h('h2', {}, 'Subscriptions'),
    table(['Subscription', 'API', 'Status'], subs.items.filter((s) => s.data.consumer === id).map((s) => [s.id, s.data.api, s.data.status])));
}

export async function subscriptionsPage(query) {
  const status = query.get('status') ?? '';
  const { items } = await api('GET', '/v1/subscriptions');
  const shown = items.filter((s) => !status || s.data.status === status);
  const out = h('div', { 'aria-live': 'polite' });
  const decide = (s, action) => h('button', { type: 'button', class: action === 'approve' ? '' : 'danger', onclick: async () => {
    try {
      await api('POST', `/v1/subscriptions/${encodeURIComponent(s.id)}/${action}`, {});
      out.replaceChildren(notice('info', `Subscription ${s.id}: ${action} done.`));
      const row = document.querySelector(`tr[data-sub="${CSS.escape(s.id)}"] td.status`);
      if (row) row.textContent = action === 'approve' ? 'approved' : action === 'reject' ? 'rejected' : 'revoked';
    } catch (err) { out.replaceChildren(notice('error', err.message)); }
  } }, `${action[0].toUpperCase()}${action.slice(1)} ${s.id}`);
  const rows = shown.map((s) => h('tr', { 'data-sub': s.id },
    h('td', {}, s.id), h('td', {}, s.data.consumer), h('td', {}, s.data.api), h('td', {}, s.tenant),
    h('td', { class: 'status' }, s.data.status === 'requested' ? '⏳ requested' : s.data.status),
    h('td', {}, s.data.status === 'requested' ? [decide(s, 'approve'), ' ', decide(s, 'reject')] : s.data.status === 'approved' ? decide(s, 'revoke') : '—')));
  return h('section', {}, h('h1', {}, 'Subscriptions'),
    h('p', {}, 'Show: ', ['', 'requested', 'approved', 'rejected', 'revoked'].map((st) => [h('a', { href: st ? `#/subscriptions?status=${st}` : '#/subscriptions', 'aria-current': st === status ? 'page' : null }, st || 'all'), ' '])),
    h('table', {}, h('thead', {}, h('tr', {}, ['Subscription', 'App', 'API', 'Tenant', 'Status', 'Actions'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 6 }, 'Nothing here.')))), out);
}
