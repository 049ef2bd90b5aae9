import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileTenancy } from '../policy/compile.ts';
import { decideAccess, decideSubscription } from '../policy/evaluate.ts';
import { SqliteStateStore } from '../store/sqlite/state-store.ts';
import type { Subscription } from '../tenancy/model.ts';
import { loadSnapshot } from '../tenancy/runtime.ts';
import { stateFile } from './apply.ts';
import { UsageError } from './serve.ts';

// Everyday operations on the state store from the shell (recorded in the audit trail as
// actor "cli"); a running gateway on the same data directory picks them up within a second.

export const subscriptionUsage = `pinpoint subscription list [--api API] [--data-dir DIR]
pinpoint subscription approve|reject|revoke ID [--data-dir DIR]
  Approve, reject or revoke subscriptions (audited as actor "cli").`;

export const whoCanUsage = `pinpoint who-can --api API [--route ROUTE_ID] [--method M] [--data-dir DIR]
  List which consumers may call an API's route and method, and why (subscription + access policy).`;

const transitions: Record<string, { from: Subscription['status'][]; to: Subscription['status'] }> = {
  approve: { from: ['requested', 'rejected', 'revoked'], to: 'approved' },
  reject: { from: ['requested'], to: 'rejected' },
  revoke: { from: ['approved', 'requested'], to: 'revoked' },
};

/** Opens the data directory's state store for one CLI operation. */
export async function withStore<T>(dataDir: string | undefined, readOnly: boolean, fn: (s: SqliteStateStore) => Promise<T>): Promise<T | null> {
  const file = stateFile(dataDir);
  if (!existsSync(file)) { process.stderr.write(`pinpoint: no state at ${file}; pass the server's --data-dir\n`); return null; }
  const store = new SqliteStateStore(file, { readOnly });
  try { return await fn(store); } finally { await store.close(); }
}

export async function subscriptionCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { api: { type: 'string' }, 'data-dir': { type: 'string' } } });
  const [action, id] = positionals;
  if (action === 'list') {
    const r = await withStore(values['data-dir'], true, async (s) => {
      const snap = await loadSnapshot(s);
      for (const x of snap.entities.subscription.values()) if (!values.api || x.data.api === values.api) process.stdout.write(`${x.id.padEnd(40)} ${x.data.status.padEnd(10)} consumer ${x.data.consumer}, api ${x.data.api} (v${x.version})\n`);
      return 0;
    });
    return r ?? 1;
  }
  const t = action ? transitions[action] : undefined;
  if (!t || !id) throw new UsageError('give list, or approve|reject|revoke with a subscription id');
  const r = await withStore(values['data-dir'], false, async (s) => {
    const sub = (await loadSnapshot(s)).entities.subscription.get(id);
    if (!sub) { process.stderr.write(`pinpoint subscription: no subscription ${id}\n`); return 1; }
    if (!t.from.includes(sub.data.status)) { process.stderr.write(`pinpoint subscription: ${id} is ${sub.data.status}; ${action} needs ${t.from.join(' or ')}\n`); return 1; }
    const info = await s.commit({ actor: { id: 'cli', role: 'operator' }, summary: `${action} subscription ${id}`, now: Date.now(), changes: [{ kind: 'subscription', id, before: sub.data, after: { ...sub.data, status: t.to } }] });
    process.stdout.write(`subscription ${id}: ${sub.data.status} -> ${t.to} (state v${info.version})\n`);
    return 0;
  });
  return r ?? 1;
}

export async function whoCanCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { api: { type: 'string' }, route: { type: 'string' }, method: { type: 'string', default: 'GET' }, 'data-dir': { type: 'string' } } });
  if (!values.api) throw new UsageError('--api is required');
  const r = await withStore(values['data-dir'], true, async (s) => {
    const snap = await loadSnapshot(s);
    const c = compileTenancy(snap);
    const api = snap.entities.api.get(values.api!);
    if (!api) { process.stderr.write(`pinpoint who-can: no API ${values.api}\n`); return 1; }
    const route = values.route ?? api.data.routes[0] ?? '';
    const method = values.method.toUpperCase();
    process.stdout.write(`Who can ${method} route ${route} of API ${api.id} (state v${snap.version}):\n`);
    for (const consumer of snap.entities.consumer.values()) {
      const sub = decideSubscription(c, api, { consumerId: consumer.id, tenantId: consumer.data.tenant || null });
      if (sub.outcome === 'tenant_mismatch') continue;
      const roles = [...snap.entities.key.values()].filter((k) => k.data.consumer === consumer.id).flatMap((k) => k.data.roles);
      const d = api.data.policies === 'enforce' ? decideAccess(c, api.id, route, method, { consumerId: consumer.id, tenantId: consumer.data.tenant, subject: consumer.id, roles, scopes: [], headers: {}, now: Date.now() }) : null;
      // The gateway refuses a suspended consumer or tenant before any subscription or policy.
      const suspended = consumer.data.status === 'suspended' ? `account_suspended (consumer suspended${consumer.data.suspendedReason ? `: ${consumer.data.suspendedReason}` : ''})`
        : snap.entities.tenant.get(consumer.data.tenant)?.data.status === 'suspended' ? `account_suspended (tenant ${consumer.data.tenant} suspended)` : null;
      const allowed = suspended === null && sub.outcome === 'ok' && (d === null || d.outcome === 'allow');
      const why = suspended ?? (sub.outcome !== 'ok' ? sub.outcome : d === null ? 'policies off' : d.outcome === 'allow' || d.outcome === 'deny' ? `${d.outcome} by ${d.policy.id}@v${d.policy.version}` : d.outcome);
      process.stdout.write(`  ${allowed ? 'yes' : 'no '}  ${consumer.id.padEnd(28)} ${why}\n`);
    }
    return 0;
  });
  return r ?? 1;
}
