import { api } from './api.js';
import { h, table, time } from './dom.js';

// The access review (GET /v1/access-review, the same audit as `pinpoint audit`): findings
// with their advice, each linked to the app, key or policy it is about.

const appLink = (id) => h('a', { href: `#/apps/${encodeURIComponent(id)}` }, id);
const keyLink = (key, consumer) => h('a', { href: `#/apps/${encodeURIComponent(consumer)}`, title: `Key ${key} of app ${consumer}` }, key);
const policyLink = (id) => h('a', { href: `#/policies/${encodeURIComponent(id)}` }, id);

function section(title, items, headers, row, why) {
  return h('section', { class: 'finding-group', 'aria-labelledby': `h-${title.replace(/\W+/g, '-')}` },
    h('h2', { id: `h-${title.replace(/\W+/g, '-')}` }, `${title} (${items.length})`),
    h('p', { class: 'help' }, why),
    table([...headers, 'Advice'], items.map((i) => [...row(i), h('span', { class: 'advice' }, i.advice)])));
}

export async function accessReviewPage(query) {
  const unusedDays = query.get('unusedDays') ?? '30';
  const expiringDays = query.get('expiringDays') ?? '14';
  const r = await api('GET', `/v1/access-review?unusedDays=${encodeURIComponent(unusedDays)}&expiringDays=${encodeURIComponent(expiringDays)}`);
  const total = r.unusedKeys.length + r.expiry.length + r.unusedScopes.length + r.unmatchedPolicies.length + r.manyTenants.length;
  const u = h('input', { id: 'unusedDays', name: 'unusedDays', type: 'number', min: 0, max: 3650, value: unusedDays });
  const e = h('input', { id: 'expiringDays', name: 'expiringDays', type: 'number', min: 0, max: 3650, value: expiringDays });
  const form = h('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); location.hash = `#/access-review?unusedDays=${encodeURIComponent(u.value)}&expiringDays=${encodeURIComponent(e.value)}`; } },
    h('label', { for: 'unusedDays' }, 'Unused for (days)'), u, h('label', { for: 'expiringDays' }, 'Expiring within (days)'), e, h('button', { type: 'submit' }, 'Review'));
  return h('section', {}, h('h1', {}, 'Access review'),
    h('p', {}, `${total} findings over the call log ${r.window.from !== null ? `from ${time(r.window.from)} ` : ''}to ${time(r.window.to)}. The regular audit that prevents tomorrow's 403s and leaks (also: pinpoint audit).`),
    form,
    section('Unused keys', r.unusedKeys, ['Key', 'App', 'Tenant', 'Last used', 'Requests'], (i) => [keyLink(i.key, i.consumer), appLink(i.consumer), i.tenant, i.lastUsed ? time(i.lastUsed) : 'never', String(i.requests)],
      'Keys never used, or not in the window: each is a credential that can leak without anyone noticing.'),
    section('Keys without expiry or close to it', r.expiry, ['Key', 'App', 'Tenant', 'Expires'], (i) => [keyLink(i.key, i.consumer), appLink(i.consumer), i.tenant, i.expiresAt ?? 'never'],
      'A key that never expires lives forever once copied; one about to expire is tomorrow\'s credential_expired.'),
    section('Scopes granted but never exercised', r.unusedScopes, ['Key', 'App', 'Tenant', 'Granted', 'Used', 'Never used'], (i) => [keyLink(i.key, i.consumer), appLink(i.consumer), i.tenant, i.granted.join(' '), i.exercised.join(' ') || '—', h('strong', {}, i.unused.join(' '))],
      'Least privilege: a scope no request needed in the window can probably be removed.'),
    section('Policies that never matched', r.unmatchedPolicies, ['Policy', 'Tenant', 'API', 'Effect'], (i) => [policyLink(i.policy), i.tenant, i.api, i.effect === 'deny' ? '✗ deny' : '✓ allow'],
      'A policy no logged decision used: stale, or a grant to an identity that does not call.'),
    section('Identities reaching many tenants', r.manyTenants, ['Identity', 'Kind', 'Tenants'], (i) => [i.kind === 'consumer' ? appLink(i.identity) : i.identity, i.kind, i.tenants.join(', ')],
      'One identity with access across tenants widens what a leak of it exposes.'));
}
