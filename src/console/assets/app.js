import { api, ApiError, token } from './api.js';
import { h, notice } from './dom.js';
import { refusedPage, requestPage } from './pages-observe.js';
import { overviewPage } from './pages-overview.js';
import { accessReviewPage } from './pages-review.js';
import { vaultPage, vaultsPage } from './pages-vaults.js';
import { usagePage } from './pages-usage.js';
import { appPage, appsPage, subscriptionsPage, tenantsPage } from './pages-tenancy.js';
import { policiesPage, policyPage } from './pages-policies.js';
import { portalApiPage, portalPage } from './pages-portal.js';

// Hash routing: every page has a URL that can be shared (#/request/<id>, #/apps/<id>, ...).
const routes = [
  [/^\/$/, (_m, q) => overviewPage(q)],
  [/^\/refused$/, (_m, q) => refusedPage(q)],
  [/^\/request\/([^/]+)$/, (m) => requestPage(decodeURIComponent(m[1]))],
  [/^\/tenants$/, () => tenantsPage()],
  [/^\/apps$/, () => appsPage()],
  [/^\/apps\/([^/]+)$/, (m) => appPage(decodeURIComponent(m[1]))],
  [/^\/subscriptions$/, (_m, q) => subscriptionsPage(q)],
  [/^\/policies$/, () => policiesPage()],
  [/^\/policies\/([^/]+)$/, (m) => policyPage(decodeURIComponent(m[1]))],
  [/^\/access-review$/, (_m, q) => accessReviewPage(q)],
  [/^\/vaults$/, () => vaultsPage()],
  [/^\/vaults\/([^/]+)$/, (m) => vaultPage(decodeURIComponent(m[1]))],
  [/^\/usage$/, (_m, q) => usagePage(q)],
  [/^\/portal$/, () => portalPage()],
  [/^\/portal\/([^/]+)$/, (m) => portalApiPage(decodeURIComponent(m[1]))],
];

const sections = [['#/', 'Overview'], ['#/refused', 'Refused (live)'], ['#/tenants', 'Tenants'], ['#/apps', 'Apps & keys'], ['#/subscriptions', 'Subscriptions'], ['#/policies', 'Policies'], ['#/access-review', 'Access review'], ['#/vaults', 'Vaults'], ['#/usage', 'AI usage'], ['#/portal', 'Developer portal']];

let principal = null;
let cleanup = null;

function signInPage(message) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h('form', { class: 'card signin', onsubmit: async (e) => {
    e.preventDefault();
    token.set(input.value.trim());
    principal = null;
    await render();
  } },
  h('h1', {}, 'Sign in'),
  message ? notice('error', message) : null,
  h('label', { for: 'token' }, 'Admin token'), input,
  h('p', { id: 'token-help', class: 'help' }, 'An admin token of the admin API (operator, tenant-admin or auditor). It is kept in this tab only (sessionStorage).'),
  h('button', { type: 'submit' }, 'Sign in'));
  return form;
}

function signInRefusal(err) {
  if (!(err instanceof ApiError)) return String(err.message);
  if (err.status === 401) return 'That admin token is not known.';
  // The detail names the wait (Retry-After); even the right token is refused until then.
  if (err.status === 429) return `Signing in is paused: ${err.message} Even a correct token is refused until then.`;
  return String(err.message);
}

function drawNav() {
  const nav = document.getElementById('nav');
  const here = location.hash.split('?')[0] || '#/';
  nav.replaceChildren(...sections.map(([href, label]) => h('a', { href, 'aria-current': (href === '#/' ? here === '#/' : here.startsWith(href)) ? 'page' : null }, label)),
    h('button', { type: 'button', class: 'link', onclick: () => { token.clear(); principal = null; location.hash = '#/'; render(); } }, 'Sign out'));
  nav.hidden = false;
  document.getElementById('who').textContent = `${principal.id} (${principal.role}${principal.tenant ? ` of ${principal.tenant}` : ''})`;
}

export function currentPrincipal() { return principal; }

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  const main = document.getElementById('main');
  if (!token.get()) {
    document.getElementById('nav').hidden = true;
    document.getElementById('who').textContent = '';
    main.replaceChildren(signInPage());
    return;
  }
  try {
    if (!principal) principal = (await api('GET', '/v1/status')).principal;
  } catch (err) {
    token.clear();
    main.replaceChildren(signInPage(signInRefusal(err)));
    return;
  }
  drawNav();
  const [path, qs] = (location.hash.slice(1) || '/').split('?');
  const query = new URLSearchParams(qs ?? '');
  const route = routes.find(([re]) => re.test(path));
  main.replaceChildren(h('p', { role: 'status' }, 'Loading…'));
  try {
    if (!route) { main.replaceChildren(notice('error', `No page ${path}.`)); return; }
    const page = await route[1](route[0].exec(path), query);
    main.replaceChildren(page.node ?? page);
    if (page.cleanup) cleanup = page.cleanup;
    const heading = main.querySelector('h1');
    document.title = `${heading ? heading.textContent + ' · ' : ''}Pinpoint console`;
    main.focus({ preventScroll: true });
  } catch (err) {
    main.replaceChildren(notice('error', err.message));
  }
}

window.addEventListener('hashchange', render);
render();
