import { relative } from 'node:path';
import { root } from './procs.ts';

// Reads a V8 .cpuprofile (node --cpu-prof) into two Markdown tables: self time by module and
// by function, over a time window, idle left out.

interface Frame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: Frame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Where a function lives, short: src/... for Pinpoint, node:... for the runtime, the package for node_modules. */
function place(url: string): string {
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  return relative(root, path);
}

function category(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native / V8 builtins)';
  const p = place(url);
  if (p.startsWith('src/')) return p.split('/').slice(0, 2).join('/');
  if (p.startsWith('node:')) return p.split('/').slice(0, 2).join('/').replace(/^node:internal\/(\w+).*/, 'node:internal/$1');
  if (!p.startsWith('.') && !p.startsWith('/')) return p.split('/')[0]!.startsWith('@') ? p.split('/').slice(0, 2).join('/') : p.split('/')[0]!;
  return p;
}

/**
 * Self time per function over [fromUs, toUs] (V8's monotonic clock, the same as
 * process.hrtime on Linux), so start-up (config parsing, module compilation) is left out.
 */
export function summarise(profile: CpuProfile, top: number, fromUs = -Infinity, toUs = Infinity): { total: number; functions: string; categories: string } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const fn = new Map<string, number>();
  const cat = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    const key = `${f.functionName || '(anonymous)'} | ${place(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const c = category(f.url, f.functionName);
    cat.set(c, (cat.get(c) ?? 0) + t);
  }
  const busy = total - idle;
  const row = (k: string, t: number) => `| ${k.replaceAll('|', '\\|').replace(' \\| ', ' | ')} | ${(t / 1000).toFixed(0)} ms | ${((100 * t) / busy).toFixed(1)}% |`;
  const functions = ['| function | where | self | % of busy |', '| --- | --- | ---: | ---: |',
    ...[...fn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => row(k, t))].join('\n');
  const categories = ['| module | self | % of busy |', '| --- | ---: | ---: |',
    ...[...cat].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, t]) => `| ${k} | ${(t / 1000).toFixed(0)} ms | ${((100 * t) / busy).toFixed(1)}% |`)].join('\n');
  return { total: busy, functions, categories };
}

