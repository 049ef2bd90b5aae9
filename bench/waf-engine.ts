import { deepStrictEqual } from 'node:assert/strict';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { RequestContext } from '../src/pipeline/types.ts';
import { createWafEngine, type WafEngine } from '../src/waf/engine.ts';
import { parseBody } from '../src/web/request-body.ts';
import { benignCorpus, clientHeaders } from '../test/waf/fixtures/benign-corpus.ts';
import { extractSrcAt } from './lib/git-tree.ts';

// The WAF engine's CPU per request body, in-process: the current engine (src/waf) against the
// engine of a git ref (by default fa6e715, before it was optimized; its src/ is extracted into a
// temporary directory), measured in the same run, interleaved, so that the ratio holds on a
// shared, noisy machine even when the absolute numbers do not. (bench/waf.ts measures the
// gateway with and without the WAF.)
//   node bench/waf-engine.ts [--rounds 7] [--budget-ms 150] [--baseline REF] [--no-write]
// The bodies are made of corpus texts that both engines pass (rules change between refs; a
// text one of them blocks would stop it early in block mode), and before timing each case
// checks that both engines return the same findings.

const { values: opts } = parseArgs({ options: {
  rounds: { type: 'string', default: '7' }, 'budget-ms': { type: 'string', default: '150' }, baseline: { type: 'string', default: 'fa6e715' }, 'no-write': { type: 'boolean', default: false },
} });
const ROUNDS = Number(opts.rounds);
const BUDGET_MS = Number(opts['budget-ms']);

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'pinpoint-bench-waf-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const baselineCommit = extractSrcAt(root, opts.baseline, work);
type EngineModule = typeof import('../src/waf/engine.ts');
const { createWafEngine: createBaselineEngine } = await import(pathToFileURL(join(work, 'src/waf/engine.ts')).href) as EngineModule;
const options = { paranoia: 1, disabledRules: new Set<string>(), exceptions: new Map<string, Set<string>>(), skipHeaders: new Set<string>() };
const before = createBaselineEngine(options);
const after = createWafEngine(options);

const corpus = benignCorpus();
const bothPass = async (body: string, contentType: string) => {
  const c = await caseOf('', body, contentType);
  return before.inspect(c.ctx, true).length === 0 && after.inspect(c.ctx, true).length === 0;
};
const jsonTexts: unknown[] = [];
const formBodies: string[] = [];
for (const r of corpus) {
  if (!(await bothPass(r.body, r.contentType))) continue;
  if (r.contentType === 'application/json') jsonTexts.push(JSON.parse(r.body) as unknown);
  else if (r.contentType === 'application/x-www-form-urlencoded') formBodies.push(r.body);
}

/** Realistic benign JSON: comments with prose, code and URLs, batched to the target size. */
function jsonOfSize(target: number, attack: string | null): string {
  const comments: unknown[] = [];
  let i = 0;
  while (JSON.stringify({ comments }).length < target) comments.push(jsonTexts[i++ % jsonTexts.length]);
  comments.pop();
  // The attack goes last: the engine has looked at everything else before it finds it.
  return JSON.stringify({ batch: 'bench', comments, ...(attack === null ? {} : { note: attack }) });
}

/** A benign form post of the target size (distinct field names: a real form's fields). */
function formOfSize(target: number, attack: string | null): string {
  const fields: string[] = [];
  let size = 0;
  for (let i = 0; size < target; i++) {
    const f = formBodies[i % formBodies.length]!.replace(/(^|&)(\w+)=/g, `$1$2${i}=`);
    if (size + f.length + 1 > target) break;
    fields.push(f);
    size += f.length + 1;
  }
  if (attack !== null) fields.push(`note=${encodeURIComponent(attack)}`);
  return fields.join('&');
}

const attacks = { sqli: "x'; DROP TABLE users; --", xss: 'hi <img src=x onerror=alert(1)>' } as const;

interface Case { name: string; ctx: RequestContext; all: boolean }

async function caseOf(name: string, body: string, contentType: string, all = false): Promise<Case> {
  const ctx = {
    path: '/api/comments', query: '', headers: { 'content-type': contentType, ...clientHeaders[0] },
    body: await parseBody(Buffer.from(body), contentType),
  } as unknown as RequestContext;
  return { name: `${name} (${(Buffer.byteLength(body) / 1024).toFixed(1)} KB)`, ctx, all };
}

async function cases(): Promise<Case[]> {
  const out: Case[] = [];
  for (const [label, size] of [['1 KB', 1024], ['16 KB', 16 * 1024], ['64 KB', 64 * 1024]] as const) {
    out.push(await caseOf(`${label} JSON benign`, jsonOfSize(size, null), 'application/json'));
    out.push(await caseOf(`${label} form benign`, formOfSize(size, null), 'application/x-www-form-urlencoded'));
    out.push(await caseOf(`${label} JSON sqli, block`, jsonOfSize(size, attacks.sqli), 'application/json'));
    out.push(await caseOf(`${label} form xss, block`, formOfSize(size, attacks.xss), 'application/x-www-form-urlencoded'));
    out.push(await caseOf(`${label} JSON xss, detect`, jsonOfSize(size, attacks.xss), 'application/json', true));
  }
  return out;
}

/** Mean CPU µs of one inspection, repeated for about budgetMs of CPU. */
function cpuMicros(engine: WafEngine, c: Case, budgetMs: number): number {
  let runs = 0;
  const t0 = process.cpuUsage();
  let spent = 0;
  do {
    for (let i = 0; i < 10; i++) engine.inspect(c.ctx, c.all);
    runs += 10;
    const d = process.cpuUsage(t0);
    spent = (d.user + d.system) / 1000;
  } while (spent < budgetMs);
  return (spent * 1000) / runs;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

async function main(): Promise<void> {
  const all = await cases();
  const rows: string[] = [];
  process.stdout.write(`WAF engine, CPU µs per inspection, median of ${ROUNDS} interleaved rounds (paranoia 1)\n`);
  for (const c of all) {
    const expected = before.inspect(c.ctx, c.all);
    deepStrictEqual(after.inspect(c.ctx, c.all), expected, `${c.name}: the engines disagree`);
    for (let i = 0; i < 50; i++) { before.inspect(c.ctx, c.all); after.inspect(c.ctx, c.all); }
    const b: number[] = [];
    const a: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which engine goes first: neither always gets the warmer caches.
      let bx: number;
      let ax: number;
      if (r % 2 === 0) { bx = cpuMicros(before, c, BUDGET_MS); ax = cpuMicros(after, c, BUDGET_MS); } else { ax = cpuMicros(after, c, BUDGET_MS); bx = cpuMicros(before, c, BUDGET_MS); }
      b.push(bx);
      a.push(ax);
      ratios.push(bx / ax);
    }
    const found = expected.length === 0 ? 'pass' : expected.map((m) => m.rule).join(',');
    const row = `| ${c.name} | ${found} | ${median(b).toFixed(1)} | ${median(a).toFixed(1)} | ${median(ratios).toFixed(2)}× |`;
    rows.push(row);
    process.stdout.write(`${row}\n`);
  }
  const report = [
    '# WAF engine benchmark (bench/waf-engine.ts)', '',
    `${new Date().toISOString()} · node ${process.version} · ${cpus()[0]?.model ?? 'unknown CPU'} · ${ROUNDS} interleaved rounds of ~${BUDGET_MS} ms CPU per engine and case · load average ${loadavg()[0]!.toFixed(1)} when done`, '',
    `CPU time of one \`inspect\` (paranoia 1, no exceptions) on a parsed body with browser-like headers: before = src/waf at ${baselineCommit} (extracted from git), after = src/waf of this tree; bodies made of corpus texts both pass.`,
    'Bodies are benign batches from the test corpus; the malicious ones carry one attack in their last field (block mode stops at the first finding, detect mode collects them all). Both engines return the same findings on every case (checked before timing).',
    'The ratio is the median of the per-round ratios: the machine is shared, so absolute µs drift between runs while the ratio holds.', '',
    '| body | findings | before µs | after µs | before / after |', '| --- | --- | --- | --- | --- |',
    ...rows, '',
  ].join('\n');
  if (!opts['no-write']) {
    const dir = resolve(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(resolve(dir, 'waf-engine.md'), report);
  }
}

main().catch((err: unknown) => { process.stderr.write(`${(err as Error).stack ?? String(err)}\n`); process.exit(1); });
