// The call log's write path, standalone (not part of bench/run.ts):
//   node bench/call-log.ts [--records 20000] [--rounds 5] [--baseline REF] [--only writer|sqlite] [--variant baseline|current] [--no-write]
// Compares this tree ("current") with the tree of a git ref ("baseline", extracted into a
// temporary directory; by default where this branch left main, so that others' commits to
// main since do not move it) in the same run, rounds interleaved, because the machine is shared
// and noisy: only ratios measured side by side mean anything.
//  - writer: records through CallLogWriter into a new SQLite file, in chunks of 64 per
//    macrotask as requests arrive. "request thread" is the CPU time of the main thread spent
//    inside write() (what each request pays); "all threads" is the process's CPU time until
//    flush() resolves (the log worker's decode + insert included); "wall" the elapsed time.
//  - sqlite: the same rows inserted with CallLogStore.insertBatch, 512 per transaction, into
//    a new file opened by openDatabase: the worker's insert cost per record (wall and CPU).
// CPU time, not elapsed time, is the robust number here: on 2 shared cores the log worker
// and other people's processes preempt the thread being timed.
// --variant runs one side only (for `strace -c -f node bench/call-log.ts --only sqlite --variant current --rounds 1`).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { TraceRecord } from '../src/log/trace.ts';
import { extractSrcAt } from './lib/git-tree.ts';

const { values } = parseArgs({ options: {
  records: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' }, baseline: { type: 'string' },
  only: { type: 'string' }, variant: { type: 'string' }, 'no-write': { type: 'boolean', default: false },
} });
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);
const CHUNK = 64;
const BATCH = 512;
const root = fileURLToPath(new URL('..', import.meta.url));
const baselineRef = values.baseline ?? execFileSync('git', ['-C', root, 'merge-base', 'HEAD', 'main'], { encoding: 'utf8' }).trim();

type WriterModule = typeof import('../src/log/call-log-writer.ts');
type DatabaseModule = typeof import('../src/store/sqlite/database.ts');
type StoreModule = typeof import('../src/store/sqlite/call-log-store.ts');
interface Variant { readonly name: 'baseline' | 'current'; readonly writer: WriterModule; readonly database: DatabaseModule; readonly store: StoreModule }

async function load(name: Variant['name'], srcRoot: string): Promise<Variant> {
  const url = (p: string) => pathToFileURL(join(srcRoot, p)).href;
  return {
    name,
    writer: await import(url('src/log/call-log-writer.ts')) as WriterModule,
    database: await import(url('src/store/sqlite/database.ts')) as DatabaseModule,
    store: await import(url('src/store/sqlite/call-log-store.ts')) as StoreModule,
  };
}

// A request as the gateway logs it: redacted headers, four checks with evidence, one upstream attempt (~1.3 KB of JSON).
function trace(i: number): TraceRecord {
  const denied = i % 7 === 0;
  return {
    requestId: `0193a5c2-7f3e-7${String(i).padStart(3, '0').slice(-3)}-8${String(i).padStart(11, '0')}-bench`, ts: 1_760_000_000_000 + i, configVersion: 4, stateVersion: 12,
    routeId: 'orders', method: denied ? 'POST' : 'GET', path: `/api/orders/${i % 1000}`, query: i % 3 === 0 ? 'page=2&limit=50' : '', host: 'api.example.test',
    clientIp: '203.0.113.7', peerIp: '127.0.0.1', clientIpVia: 'x-forwarded-for', status: denied ? 403 : 200, code: denied ? 'insufficient_scope' : null,
    answeredBy: denied ? 'gateway' : 'upstream', deniedBy: denied ? 'scopes' : null,
    identity: { kind: 'api_key', credentialId: 'key_01HZX3K9Q2', consumerId: 'acme-shop', tenantId: 'acme', subject: 'acme-shop', scopes: ['orders:read'], roles: ['reader'] },
    checks: [
      { id: 'ip-filter', phase: 'pre-auth', outcome: 'continue', evidence: { ip: '203.0.113.7', matched: '203.0.113.0/24' }, micros: 2 },
      { id: 'api-key', phase: 'authn', outcome: 'continue', evidence: { credentialId: 'key_01HZX3K9Q2', consumerId: 'acme-shop', prefix: 'pk_live_7f' }, micros: 6 },
      { id: 'scopes', phase: 'authz', outcome: denied ? 'deny' : 'continue', ...(denied ? { code: 'insufficient_scope' as const } : {}), evidence: { required: denied ? ['orders:write'] : ['orders:read'], present: ['orders:read'] }, micros: 1 },
      { id: 'rate-limit:default', phase: 'limit', outcome: denied ? 'not_run' : 'continue', evidence: { key: 'acme-shop', count: i % 100, limit: 1000, windowSeconds: 60 }, micros: 3 },
    ],
    request: {
      headers: { host: 'api.example.test', 'user-agent': 'shop-backend/4.2 (+https://acme.example)', accept: 'application/json', 'x-api-key': '[redacted]', 'x-forwarded-for': '203.0.113.7', 'accept-encoding': 'gzip, br' },
      contentLength: denied ? 84 : null, contentType: denied ? 'application/json' : null, userAgent: 'shop-backend/4.2 (+https://acme.example)',
    },
    upstream: denied ? null : { name: 'orders', attempts: [{ target: 'http://10.0.0.12:8080', status: 200 }], status: 200, headersMs: 1.8, errorSample: null, panic: false, aborted: null },
    durationMs: 2.4,
  };
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

type Metric = 'requestThread' | 'allThreads' | 'stored' | 'sqlite' | 'sqliteCpu';

async function writerRound(v: Variant, records: readonly TraceRecord[], dir: string): Promise<{ requestThread: number; allThreads: number; stored: number }> {
  const errors: string[] = [];
  const writer = new v.writer.CallLogWriter(join(dir, `writer-${v.name}.db`), { maxPending: 1e9, flushIntervalMs: 50, retentionHours: 0, onError: (m) => errors.push(m) });
  await writer.flush(); // the worker has opened (created) its file
  let inside = 0;
  const start = performance.now();
  const startCpu = process.cpuUsage();
  for (let i = 0; i < records.length; i += CHUNK) {
    const t = process.threadCpuUsage();
    for (let j = i; j < i + CHUNK && j < records.length; j++) writer.write(records[j]!);
    inside += cpuMs(process.threadCpuUsage(t));
    await nextMacrotask();
  }
  await writer.flush();
  const stored = performance.now() - start;
  const allThreads = cpuMs(process.cpuUsage(startCpu));
  await writer.close();
  if (errors.length || writer.stats.written !== records.length) throw new Error(`${v.name} writer: ${writer.stats.written} of ${records.length} written; ${errors.join('; ')}`);
  return { requestThread: (inside * 1000) / records.length, allThreads: (allThreads * 1000) / records.length, stored: (stored * 1000) / records.length };
}

function sqliteRound(v: Variant, records: readonly TraceRecord[], dir: string): { wall: number; cpu: number } {
  const batches: ReturnType<StoreModule['parseCallLines']>[] = [];
  for (let i = 0; i < records.length; i += BATCH) batches.push(v.store.parseCallLines(records.slice(i, i + BATCH).map(v.store.toCallLine).join('')));
  const db = v.database.openDatabase(join(dir, `sqlite-${v.name}.db`));
  const store = new v.store.CallLogStore(db);
  const t = performance.now();
  const c = process.threadCpuUsage();
  for (const b of batches) store.insertBatch(b);
  const ms = performance.now() - t;
  const cpu = cpuMs(process.threadCpuUsage(c));
  db.close();
  return { wall: (ms * 1000) / records.length, cpu: (cpu * 1000) / records.length };
}

const work = mkdtempSync(join(tmpdir(), 'pinpoint-bench-call-log-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const variants: Variant[] = [];
let baselineCommit = '';
if (values.variant !== 'current') {
  // The baseline's whole src/ (its worker and store included), run from a temporary directory.
  baselineCommit = extractSrcAt(root, baselineRef, join(work, 'baseline'));
  variants.push(await load('baseline', join(work, 'baseline')));
}
if (values.variant !== 'baseline') variants.push(await load('current', root));
const currentCommit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', 'src'], { encoding: 'utf8' }).trim() !== '';

const records = Array.from({ length: RECORDS }, (_, i) => trace(i));
const results = new Map<string, Record<Metric, number[]>>(variants.map((v) => [v.name, { requestThread: [], allThreads: [], stored: [], sqlite: [], sqliteCpu: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which side goes first: a drift of the machine's load hits both alike.
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) {
    const dir = join(work, `round-${round}`);
    mkdirSync(dir, { recursive: true });
    const r = results.get(v.name)!;
    if (values.only !== 'sqlite') { const w = await writerRound(v, records, dir); r.requestThread.push(w.requestThread); r.allThreads.push(w.allThreads); r.stored.push(w.stored); }
    if (values.only !== 'writer') { const q = sqliteRound(v, records, dir); r.sqlite.push(q.wall); r.sqliteCpu.push(q.cpu); }
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`);
}

const cell = (xs: number[]) => xs.length ? `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})` : '–';
const ratio = (metric: Metric) => {
  const b = results.get('baseline')?.[metric] ?? [];
  const c = results.get('current')?.[metric] ?? [];
  return b.length && c.length ? `${(median(c) / median(b)).toFixed(2)}×` : '–';
};
const row = (label: string, metric: Metric) =>
  `| ${label} | ${cell(results.get('baseline')?.[metric] ?? [])} | ${cell(results.get('current')?.[metric] ?? [])} | ${ratio(metric)} |`;
const report = [
  '# Call log write path',
  '',
  `Generated by \`node bench/call-log.ts\` on ${new Date().toISOString()}: ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end.`,
  `${RECORDS} records (~${Math.round(JSON.stringify(records[1]).length / 10) * 10} bytes of trace JSON each) per round, ${ROUNDS} rounds, baseline and current interleaved in the same process.`,
  `Baseline: \`${values.baseline ?? 'merge-base HEAD main'}\` (${baselineCommit || 'not run'}); current: ${currentCommit}${dirty ? ' with uncommitted changes in src/' : ''}.`,
  'µs per record, median (min–max) of the rounds; the ratio is current / baseline of the medians (below 1 is faster).',
  '',
  '| measure | baseline | current | ratio |',
  '| --- | --- | --- | --- |',
  row('writer, request thread CPU (inside write())', 'requestThread'),
  row('writer, CPU of all threads until stored', 'allThreads'),
  row('writer, wall until stored (flush resolved)', 'stored'),
  row('SQLite insertBatch (512 per transaction), CPU', 'sqliteCpu'),
  row('SQLite insertBatch (512 per transaction), wall', 'sqlite'),
  '',
].join('\n');
process.stdout.write(`\n${report}`);
if (!values['no-write'] && !values.variant) writeFileSync(join(root, 'bench/results/call-log.md'), report);
process.exit(0);
