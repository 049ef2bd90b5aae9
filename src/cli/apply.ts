import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { consumerSchema, tenantSchema } from '../config/schema.ts';
import { redecidable, redecide } from '../explain/tenancy.ts';
import { compileTenancy } from '../policy/compile.ts';
import { recentTraces } from '../store/sqlite/call-log-store.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import { SqliteStateStore } from '../store/sqlite/state-store.ts';
import { tenancySeedSections } from '../tenancy/model.ts';
import { loadSnapshot } from '../tenancy/runtime.ts';
import { seedMaps, seededKinds, type SeedSections } from '../tenancy/seed.ts';
import { applyChanges, diffMaps, type Change, type StateMaps } from '../tenancy/state.ts';
import { UsageError } from './serve.ts';

// Declarative management of the tenancy state, in the YAML format `export` writes: `apply`
// makes the store match the file (create, update, delete), printing the diff first; with
// --dry-run it also re-decides recent logged requests under the result. A running gateway
// on the same data directory picks the new version up within its poll interval (1 s).

export const exportUsage = `pinpoint export [--data-dir DIR]
  Print the tenancy state (tenants, consumers with key hashes, APIs, policies, subscriptions, owners) as YAML for apply.`;

export const applyUsage = `pinpoint apply -f FILE [--dry-run] [--last N] [--data-dir DIR]
  Make tenants, consumers (and their keys), APIs, policies, subscriptions and resource owners
  match FILE (the format export prints): prints the diff; --dry-run changes nothing and shows which of the
  last N (100) logged requests would be decided differently.`;

const fileSchema = z.strictObject({
  tenants: z.array(tenantSchema).default([]),
  consumers: z.array(consumerSchema).default([]),
  ...tenancySeedSections,
});

export function stateFile(dataDir: string | undefined): string {
  return join(resolve(dataDir ?? './.pinpoint-demo'), 'pinpoint.db');
}

/** The state as the declarative file format: keys nested under their consumer, hashes only. */
export function exportSections(maps: StateMaps): SeedSections {
  const keys = [...maps.key.values()];
  return {
    tenants: [...maps.tenant.values()].map((t) => ({ ...t.data })),
    consumers: [...maps.consumer.values()].map((c) => ({
      ...c.data, keys: keys.filter((k) => k.data.consumer === c.id).map((k) => { const { consumer: _c, ...rest } = k.data; return { ...rest }; }),
    })) as SeedSections['consumers'],
    apis: [...maps.api.values()].map((a) => a.data),
    policies: [...maps.policy.values()].map((p) => p.data),
    subscriptions: [...maps.subscription.values()].map((s) => s.data),
    resourceOwners: [...maps.owner.values()].map((o) => o.data),
  };
}

function describeChange(c: Change): string {
  if (c.before === null) return `+ ${c.kind} ${c.id}`;
  if (c.after === null) return `- ${c.kind} ${c.id}`;
  const b = c.before as unknown as Record<string, unknown>;
  const a = c.after as unknown as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return `~ ${c.kind} ${c.id} (${fields.map((f) => f === 'hash' ? 'hash' : `${f}: ${JSON.stringify(b[f]) ?? '(unset)'} -> ${JSON.stringify(a[f]) ?? '(unset)'}`).join('; ')})`;
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } } });
  const file = stateFile(values['data-dir']);
  if (!existsSync(file)) { process.stderr.write(`pinpoint export: no state at ${file}; pass the server's --data-dir\n`); return 1; }
  const store = new SqliteStateStore(file, { readOnly: true });
  try {
    const snap = await loadSnapshot(store);
    process.stdout.write(`# Pinpoint tenancy state v${snap.version} (keys as sha256 hashes only)\n` + stringify(exportSections(snap.entities), { lineWidth: 0 }));
    return 0;
  } finally { await store.close(); }
}

export async function applyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    file: { type: 'string', short: 'f' }, 'dry-run': { type: 'boolean', default: false }, last: { type: 'string', default: '100' }, 'data-dir': { type: 'string' },
  } });
  if (!values.file) throw new UsageError('-f FILE is required');
  const last = Number(values.last);
  if (!Number.isInteger(last) || last < 1) throw new UsageError(`--last must be a positive whole number, got "${values.last}"`);
  let raw: unknown;
  try { raw = parse(readFileSync(values.file, 'utf8')); } catch (err) {
    process.stderr.write(`pinpoint apply: cannot read ${values.file}: ${(err as Error).message}\n`);
    return 1;
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    process.stderr.write(`pinpoint apply: ${values.file} has ${parsed.error.issues.length} problem(s); nothing was changed:\n${parsed.error.issues.map((i) => `  ${i.path.join('.') || '(document)'}: ${i.message}`).join('\n')}\n`);
    return 1;
  }
  const file = stateFile(values['data-dir']);
  const store = new SqliteStateStore(file, { readOnly: values['dry-run'] && existsSync(file) });
  try {
    const current = await loadSnapshot(store);
    const desired = seedMaps(parsed.data as unknown as SeedSections);
    const changes = diffMaps(current.entities, desired, seededKinds);
    const rank = (c: Change) => seededKinds.indexOf(c.kind);
    const ordered = [...changes.filter((c) => c.after !== null).sort((a, b) => rank(a) - rank(b)), ...changes.filter((c) => c.after === null).sort((a, b) => rank(b) - rank(a))];
    const problems = referenceProblems(desired);
    if (problems.length) {
      process.stderr.write(`pinpoint apply: ${values.file} is inconsistent; nothing was changed:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 1;
    }
    process.stdout.write(ordered.length === 0 ? `No changes: the state (v${current.version}) already matches ${values.file}.\n` : `${ordered.length} change(s) against state v${current.version}:\n${ordered.map((c) => `  ${describeChange(c)}`).join('\n')}\n`);
    if (values['dry-run']) {
      if (ordered.length) process.stdout.write(dryRunReport(file, current.entities, ordered, current.version, last));
      process.stdout.write('Dry run: nothing was changed.\n');
      return 0;
    }
    if (ordered.length === 0) return 0;
    const info = await store.commit({ actor: { id: 'cli', role: 'operator' }, summary: `apply ${values.file}`, changes: ordered, now: Date.now() });
    process.stdout.write(`Applied as state v${info.version}; a running gateway on this data directory picks it up within a second.\n`);
    return 0;
  } finally { await store.close(); }
}

function referenceProblems(m: StateMaps): string[] {
  const out: string[] = [];
  for (const c of m.consumer.values()) if (c.data.tenant && !m.tenant.has(c.data.tenant)) out.push(`consumer ${c.id}: tenant ${c.data.tenant} is not declared`);
  for (const a of m.api.values()) if (!m.tenant.has(a.data.tenant)) out.push(`api ${a.id}: tenant ${a.data.tenant} is not declared`);
  for (const p of m.policy.values()) if (!m.api.has(p.data.api)) out.push(`policy ${p.id}: api ${p.data.api} is not declared`);
  for (const s of m.subscription.values()) {
    if (!m.consumer.has(s.data.consumer)) out.push(`subscription ${s.id}: consumer ${s.data.consumer} is not declared`);
    if (!m.api.has(s.data.api)) out.push(`subscription ${s.id}: api ${s.data.api} is not declared`);
  }
  return out;
}

function dryRunReport(file: string, current: StateMaps, changes: readonly Change[], version: number, last: number): string {
  if (!existsSync(file)) return '';
  const db = openDatabase(file, { readOnly: true });
  try {
    const traces = recentTraces(db, last).filter(redecidable);
    const now = compileTenancy({ version, at: Date.now(), entities: current });
    const proposed = compileTenancy({ version: version + 1, at: Date.now(), entities: applyChanges(current, changes, version + 1) });
    const at = Date.now();
    const lines: string[] = [];
    for (const t of traces) {
      const a = redecide(t, now, null, at);
      const b = redecide(t, proposed, null, at);
      if (a.allowed !== b.allowed || a.code !== b.code) lines.push(`  ${t.requestId} ${t.method} ${t.path} as ${t.identity?.consumerId ?? '?'}: ${a.allowed ? 'allowed' : a.code} -> ${b.allowed ? 'allowed' : `${b.code}${b.decidedBy ? ` (${b.decidedBy})` : ''}`}`);
    }
    return `Re-decided the last ${traces.length} logged request(s) under the result: ${lines.length} would flip${lines.length ? ':\n' + lines.join('\n') : '.'}\n`;
  } finally { db.close(); }
}
