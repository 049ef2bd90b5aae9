import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareTraces, configAtVersion, explainTrace, versionsForExplain } from '../explain/explain.ts';
import { tenancyFindings } from '../explain/tenancy.ts';
import { SqliteStateStore } from '../store/sqlite/state-store.ts';
import { openStore, storeLocation } from '../store/open-store.ts';
import { describeLocation, type Store, type StoreLocation } from '../store/store.ts';
import { storeOption } from './serve.ts';
import { renderComparison, renderExplanation } from '../explain/render.ts';
import { findTrace, readStats } from '../store/sqlite/call-log-store.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import type { TraceRecord } from '../log/trace.ts';
import type { DatabaseSync } from 'node:sqlite';

export const explainUsage = `pinpoint explain REQUEST_ID [--compare OK_REQUEST_ID] [--data-dir DIR | --store postgresql://HOST/DB] [--json]
  The decision trace of one request: every check, the one that refused and its rule, the cause and the fix.
  --compare: what differs from a request that succeeded. --data-dir defaults to ./.pinpoint-demo.
  --store: the servers' shared store, so a request served by any node can be explained from anywhere.`;

export function dataDirDatabase(dataDir: string | undefined): string {
  return join(resolve(dataDir ?? './.pinpoint-demo'), 'pinpoint.db');
}

/** The writer batches every few ms: a request answered a moment ago may not be stored yet. */
async function findWithPatience(db: DatabaseSync | Store, id: string): Promise<TraceRecord | null> {
  for (let i = 0; i < 20; i++) {
    const t = 'prepare' in db ? findTrace(db, id) : await db.findTrace(id);
    if (t) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: {
    compare: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, store: { type: 'string' },
  } });
  const [id] = positionals;
  if (!id) { process.stderr.write(`${explainUsage}\n`); return 2; }
  storeOption(values.store, values['data-dir'] ?? './.pinpoint-demo');
  const location = storeLocation(values.store, values['data-dir'] ?? './.pinpoint-demo');
  if (location.kind === 'postgres') return explainFromStore(location, id, values.compare, values.json);
  const file = dataDirDatabase(values['data-dir']);
  if (!existsSync(file)) { process.stderr.write(`pinpoint explain: no call log at ${file}; pass the server's --data-dir\n`); return 1; }
  const db = openDatabase(file, { readOnly: true });
  try {
    const trace = await findWithPatience(db, id);
    if (!trace) {
      const dropped = readStats(db).dropped_records ?? 0;
      process.stderr.write(`pinpoint explain: no trace for request ${id} in ${file}${dropped ? ` (the log writer has dropped ${dropped} records under load; it may be one of them)` : ''}\n`);
      return 1;
    }
    if (values.compare) {
      const ok = await findWithPatience(db, values.compare);
      if (!ok) { process.stderr.write(`pinpoint explain: no trace for request ${values.compare}\n`); return 1; }
      const diffs = compareTraces(trace, ok);
      process.stdout.write(values.json ? JSON.stringify({ refused: id, succeeded: values.compare, differences: diffs }, null, 2) + '\n' : renderComparison(id, values.compare, diffs));
      return 0;
    }
    const base = explainTrace(db, trace);
    // Tenancy decisions: similar allowed identities, and whether a later state version decides differently.
    const store = new SqliteStateStore(file, { readOnly: true });
    const routePath = configAtVersion(db, trace.configVersion)?.routes.find((r) => r.id === trace.routeId)?.path ?? null;
    const extra = await tenancyFindings(store, trace, routePath).finally(() => store.close());
    const x = { ...base, findings: [...base.findings, ...extra] };
    process.stdout.write(values.json ? JSON.stringify(x, null, 2) + '\n' : renderExplanation(x));
    return 0;
  } finally {
    db.close();
  }
}

/** The same answers, read from a shared store (PostgreSQL) instead of a local file. */
async function explainFromStore(location: StoreLocation, id: string, compare: string | undefined, json: boolean): Promise<number> {
  let store: Store;
  try {
    store = await openStore(location);
  } catch (err) {
    process.stderr.write(`pinpoint explain: cannot open the store ${describeLocation(location)}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const trace = await findWithPatience(store, id);
    if (!trace) {
      const dropped = (await store.readStats()).dropped_records ?? 0;
      process.stderr.write(`pinpoint explain: no trace for request ${id} in ${describeLocation(location)}${dropped ? ` (the log writer has dropped ${dropped} records under load; it may be one of them)` : ''}\n`);
      return 1;
    }
    if (compare) {
      const ok = await findWithPatience(store, compare);
      if (!ok) { process.stderr.write(`pinpoint explain: no trace for request ${compare}\n`); return 1; }
      const diffs = compareTraces(trace, ok);
      process.stdout.write(json ? JSON.stringify({ refused: id, succeeded: compare, differences: diffs }, null, 2) + '\n' : renderComparison(id, compare, diffs));
      return 0;
    }
    const x = explainTrace(await versionsForExplain(store, trace), trace);
    process.stdout.write(json ? JSON.stringify(x, null, 2) + '\n' : renderExplanation(x));
    return 0;
  } finally {
    await store.close();
  }
}
