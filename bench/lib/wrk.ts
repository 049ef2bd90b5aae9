import { writeFileSync } from 'node:fs';
import { BenchAbort, LOAD_CPU, launch, tail } from './procs.ts';

// One wrk run, driven by a generated Lua script: the request (method, headers, body), an
// optional list of header sets cycled request by request (10k keys, 50% refusals), an
// optional fixed request rate (paced with LuaJIT's FFI clock), and a done() that prints
// the counters and the latency percentiles (p50/p90/p99/p99.9) as one JSON line.

export interface WrkResult {
  requests: number;
  durationUs: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  /** Responses with status >= 400 (wrk's "Non-2xx or 3xx responses"). */
  statusErrors: number;
  timeouts: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface Load {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Header sets cycled in order, one per request, on top of `headers`. */
  readonly rotate?: readonly Readonly<Record<string, string>>[];
  /** Requests per second over all connections; unset = as fast as the server answers (closed loop). */
  readonly rate?: number;
  /** Overrides the run's connection count. */
  readonly connections?: number;
}

const lua = (s: string) => `[==[${s}]==]`;
// `[ [==[k]==] ]`: without the spaces `[[` would open a Lua long string.
const luaTable = (h: Readonly<Record<string, string>>) => `{${Object.entries(h).map(([k, v]) => `[ ${lua(k)} ]=${lua(v)}`).join(',')}}`;

export function luaScript(load: Load, threads: number): string {
  const lines = ['-- written by bench/run.ts for one wrk run', `wrk.method = "${load.method}"`];
  for (const [k, v] of Object.entries(load.headers)) lines.push(`wrk.headers[ ${lua(k)} ] = ${lua(v)}`);
  if (load.body !== undefined) lines.push(`wrk.body = ${lua(load.body)}`);
  if (load.rotate && load.rotate.length > 0) {
    // Every request string is built once, at start; request() only picks the next one.
    // wrk.format adds no Host header (wrk's default request does): HTTP/1.1 requires it.
    lines.push(
      `wrk.headers["Host"] = ${lua(new URL(load.url).host)}`,
      `local sets = {${load.rotate.map(luaTable).join(',\n')}}`,
      'local reqs = {}',
      'for i, set in ipairs(sets) do',
      '  local h = {}',
      '  for k, v in pairs(wrk.headers) do h[k] = v end',
      '  for k, v in pairs(set) do h[k] = v end',
      '  reqs[i] = wrk.format(nil, nil, h, nil)',
      'end',
      'local n, i = #reqs, 0',
      'function request()',
      '  i = i % n + 1',
      '  return reqs[i]',
      'end',
    );
  }
  if (load.rate !== undefined) {
    // A fixed schedule, not a fixed pause: request k of this thread is due at start + k/rate,
    // so the rate holds whatever the latency (as long as connections are free). wrk's timer
    // has 1 ms resolution: requests due within the same millisecond leave together.
    lines.push(
      'local ffi = require("ffi")',
      'ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } pp_timespec; int clock_gettime(int clk, pp_timespec *tp); ]]',
      'local ts = ffi.new("pp_timespec")',
      'local function now_ms() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6 end',
      `local interval = ${(1000 * threads) / load.rate}`,
      'local due = nil',
      'function delay()',
      '  local t = now_ms()',
      '  if due == nil or due < t - 1000 then due = t end',
      '  local wait = due - t',
      '  due = due + interval',
      '  if wait < 0 then return 0 end',
      '  return math.floor(wait)',
      'end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'BENCH_RESULT {"requests":%d,"durationUs":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}\\n\',',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))',
    'end',
    '',
  );
  return lines.join('\n');
}

export async function runWrk(load: Load, seconds: number, connections: number, threads: number, scriptFile: string): Promise<WrkResult> {
  writeFileSync(scriptFile, luaScript(load, threads));
  const c = Math.max(load.connections ?? connections, threads);
  const args = ['-t', String(threads), '-c', String(c), '-d', `${seconds}s`, '--timeout', '5s', '-s', scriptFile, load.url];
  const proc = launch('wrk', LOAD_CPU, 'wrk', args);
  const deadline = setTimeout(() => proc.child.kill('SIGKILL'), (seconds + 30) * 1000);
  await proc.exited;
  clearTimeout(deadline);
  const m = /^BENCH_RESULT (\{.*\})$/m.exec(proc.stdout);
  if (proc.exitCode !== 0 || !m) throw new BenchAbort(`wrk failed (exit ${proc.exitCode}):\n${tail(proc.stderr + proc.stdout)}`);
  return JSON.parse(m[1]!) as WrkResult;
}
