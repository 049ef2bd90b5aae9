import { parseArgs } from 'node:util';
import { accessAudit } from '../analytics/access-audit.ts';
import { loadConfigText } from '../config/load.ts';
import { TenancyRuntime } from '../tenancy/runtime.ts';
import { openReadStores } from './read-store.ts';
import { UsageError } from './serve.ts';

export const auditUsage = `pinpoint audit [--unused-days 30] [--expiring-days 14] [--many-tenants 2] [--tenant T] [--data-dir DIR | --store postgresql://HOST/DB] [--json]
  Access review from the data directory: keys never used or unused for N days, keys without
  expiry or close to it, scopes granted but never exercised, policies that never matched,
  identities with access to many tenants. Exit status 1 when there are findings.
  --store: a cluster's shared store (every node's calls, the shared tenancy state).`;

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export async function auditCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    'unused-days': { type: 'string', default: '30' }, 'expiring-days': { type: 'string', default: '14' }, 'many-tenants': { type: 'string', default: '2' },
    tenant: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, store: { type: 'string' },
  } });
  const int = (flag: string, v: string) => { const n = Number(v); if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag}: a whole number of at least 0`); return n; };
  const options = { now: Date.now(), unusedDays: int('unused-days', values['unused-days']), expiringDays: int('expiring-days', values['expiring-days']), manyTenants: Math.max(2, int('many-tenants', values['many-tenants'])), tenant: values.tenant };
  const stores = await openReadStores('audit', values.store, values['data-dir']);
  if (!stores) return 1;
  try {
    const runtime = await TenancyRuntime.open(stores.state);
    const row = await stores.store.latestConfigVersion();
    const routes = row ? loadConfigText(row.text, row.file).config.routes : [];
    const a = await accessAudit(stores.store.log, runtime.state.entities, routes, options);
    const count = a.unusedKeys.length + a.expiry.length + a.unusedScopes.length + a.unmatchedPolicies.length + a.manyTenants.length;
    if (values.json) { process.stdout.write(`${JSON.stringify(a, null, 2)}\n`); return count ? 1 : 0; }
    const out: string[] = [`Access review${options.tenant ? ` of tenant ${options.tenant}` : ''}; usage from the call log ${a.window.from === null ? '(empty)' : `since ${iso(a.window.from)}`}`];
    const section = <T>(title: string, items: readonly T[], line: (x: T) => string) => {
      out.push('', `${title} (${items.length}):`);
      if (items.length === 0) out.push('  none');
      for (const x of items) out.push(`  ${line(x)}`);
    };
    section(`Keys never used or unused for ${options.unusedDays}+ days`, a.unusedKeys, (k) => `${k.key} (${k.consumer}, ${k.tenant}) last used ${k.lastUsed ? iso(k.lastUsed) : 'never'}: ${k.advice}`);
    section(`Keys without expiry or expiring within ${options.expiringDays} days`, a.expiry, (k) => `${k.key} (${k.consumer}, ${k.tenant}) ${k.expiresAt ? `expires ${k.expiresAt}: ` : ''}${k.advice}`);
    section('Scopes granted but never exercised', a.unusedScopes, (s) => `${s.key} (${s.consumer}): granted ${s.granted.join(' ')}; used ${s.exercised.join(' ') || 'none'}: ${s.advice}`);
    section('Policies that never matched', a.unmatchedPolicies, (p) => `${p.policy} (${p.effect}, api ${p.api}, ${p.tenant}): ${p.advice}`);
    section(`Identities reaching ${options.manyTenants}+ tenants`, a.manyTenants, (m) => `${m.kind} ${m.identity}: ${m.tenants.join(', ')}: ${m.advice}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return count ? 1 : 0;
  } finally {
    await stores.close();
  }
}
