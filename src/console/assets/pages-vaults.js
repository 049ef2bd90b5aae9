import { api } from './api.js';
import { h, notice, table, time } from './dom.js';

// Vaults and their policies (GET /v1/vaults, /v1/vaults/{name}): read-only; secret values are
// never sent by the admin API, so they cannot be shown here.

const vaultLink = (name) => h('a', { href: `#/vaults/${encodeURIComponent(name)}` }, name);
const epoch = (sec) => (sec === null ? '—' : time(sec * 1000));

function firewallText(fw) {
  if (fw.defaultAction === 'Allow') return 'allows every address';
  return `denies all but ${fw.ipRules.join(', ') || 'no address'}${fw.bypass === 'AzureServices' ? ' (trusted services bypass)' : ''}`;
}

export async function vaultsPage() {
  const r = await api('GET', '/v1/vaults');
  return h('section', {}, h('h1', {}, 'Vaults'),
    !r.attached ? notice('info', 'No vault runs in this process (start one with the demo, or give pinpoint serve --vault-settings).') : null,
    r.attached && !r.items.length ? notice('info', 'No vault is visible to you: a tenant admin sees the vaults whose settings name its tenant as adminTenant.') : null,
    r.items.length ? table(['Vault', 'Hosts', 'Directory tenant', 'Admin tenant', 'Access policies', 'Secrets', 'Firewall'], r.items.map((v) => [
      vaultLink(v.name), v.hosts.join(', '), v.directoryTenant, v.adminTenant ?? '— (operators and auditors)', String(v.accessPolicies),
      `${v.secrets}${v.deletedSecrets ? ` (+${v.deletedSecrets} deleted)` : ''}`, firewallText(v.firewall)])) : null,
    h('p', { class: 'help' }, 'Settings come from vault.yaml (the vault reloads it on change); see docs/vault.md.'));
}

export async function vaultPage(name) {
  const { item: v } = await api('GET', `/v1/vaults/${encodeURIComponent(name)}?audit=100`);
  const live = v.secretList.filter((x) => x.deletedAt === null);
  const deleted = v.secretList.filter((x) => x.deletedAt !== null);
  return h('section', {}, h('h1', {}, `Vault ${v.name}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Hosts'), h('dd', {}, v.hosts.join(', ')),
      h('dt', {}, 'Directory tenant'), h('dd', {}, v.directoryTenant),
      h('dt', {}, 'Admin tenant'), h('dd', {}, v.adminTenant ?? 'none (operators and auditors only)'),
      h('dt', {}, 'Policy version'), h('dd', {}, `v${v.policyVersion}`)),
    h('h2', {}, 'Access policies'),
    table(['App (client id)', 'Display name', 'Object id', 'Secret permissions'], v.policies.map((p) => [p.app ?? '(no app has this object id)', p.displayName ?? '—', h('code', {}, p.objectId), p.permissions.join(', ') || 'none'])),
    h('p', { class: 'help' }, 'An app without a row here is refused with 403 (vault_no_access_policy); a missing permission is vault_permission_missing.'),
    h('h2', {}, 'Firewall'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Default action'), h('dd', {}, v.firewall.defaultAction),
      h('dt', {}, 'Allowed networks'), h('dd', {}, v.firewall.ipRules.join(', ') || '—'),
      h('dt', {}, 'Bypass'), h('dd', {}, v.firewall.bypass),
      h('dt', {}, 'In short'), h('dd', {}, `${firewallText(v.firewall)}${v.firewall.defaultAction === 'Deny' ? '; others get 403 ForbiddenByFirewall (vault_firewall_denied)' : ''}`)),
    h('h2', {}, 'Throttling and soft delete'),
    table(['Setting', 'Value'], [
      ['Reads', `${v.throttle.read.requests} per ${v.throttle.read.windowSeconds} s, then 429 (vault_throttled)`],
      ['Writes', `${v.throttle.write.requests} per ${v.throttle.write.windowSeconds} s`],
      ['Soft-delete retention', `${v.softDelete.retentionDays} days`],
      ['Purge protection', v.softDelete.purgeProtection ? 'on: deleted secrets cannot be purged before retention ends' : 'off'],
      ['Recovery level', v.softDelete.recoveryLevel]]),
    h('h2', {}, `Secrets (${live.length})`),
    h('p', { class: 'help' }, 'Names, versions and attributes only: the admin API never sends a secret value.'),
    table(['Name', 'Versions', 'Enabled', 'Content type', 'Updated', 'Expires'], live.map((x) => [x.name, String(x.versions), x.enabled ? 'yes' : 'no (disabled)', x.contentType ?? '—', epoch(x.updated), epoch(x.expires)])),
    deleted.length ? [h('h2', {}, `Deleted secrets (${deleted.length})`), table(['Name', 'Versions', 'Deleted', 'Purged after'], deleted.map((x) => [x.name, String(x.versions), epoch(x.deletedAt), epoch(x.purgeAt)]))] : null,
    h('h2', {}, 'Recent audit'),
    h('p', { class: 'help' }, `The last ${v.audit.length} operations on this vault since the vault started (the full trail is vault-audit.log); refusals carry their reason code.`),
    table(['Time', 'Operation', 'App', 'Client IP', 'Result', 'Reason', 'Secret'], v.audit.map((e) => [
      e.ts.replace('T', ' ').slice(0, 19) + 'Z', e.operation, e.app ?? '—', e.clientIp,
      h('span', { class: `badge ${e.result === 'success' ? 'ok' : e.status >= 500 ? 'err' : 'deny'}` }, `${e.status} ${e.result}`), e.reason ? h('code', {}, e.reason) : '—', e.secretName ?? '—'])));
}
