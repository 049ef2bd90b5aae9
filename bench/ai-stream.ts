import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request, Agent } from 'undici';
import { stringify } from 'yaml';
import { hashApiKey } from '../src/credentials/directory.ts';

// Streaming overhead of the AI gateway (issue 6): time to first token added by the gateway
// and chunk throughput, direct to a fake OpenAI-compatible provider vs through Pinpoint
// (POST /v1/chat/completions, key auth, allow-list, quota ledger, usage accounting).
// The fake provider and the gateway run in their own processes; this one is the client.
//   node bench/ai-stream.ts [--requests N] [--chunks N] [--concurrency N]

const usage = `node bench/ai-stream.ts [--requests 300] [--chunks 2000] [--concurrency 8]
  ttft: N sequential streamed requests, first chunk latency (direct vs via the gateway)
  throughput: one stream of --chunks chunks, chunks/s; then --concurrency such streams at once`;

const { values } = parseArgs({ options: {
  role: { type: 'string' }, port: { type: 'string' }, requests: { type: 'string', default: '300' }, chunks: { type: 'string', default: '2000' },
  concurrency: { type: 'string', default: '8' }, help: { type: 'boolean', default: false },
} });
if (values.help) { process.stdout.write(`${usage}\n`); process.exit(0); }

// ---------------------------------------------------------------- the fake provider (child)
if (values.role === 'fake') {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      const n = Number(/"n_chunks":(\d+)/.exec(body)?.[1] ?? (JSON.parse(body) as { max_tokens?: number }).max_tokens ?? 1);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (i: number) => `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"fake","choices":[{"index":0,"delta":{"content":"w${i} "},"finish_reason":null}]}\n\n`;
      // Write with backpressure so that a slow reader measures the path, not a buffer.
      let i = 0;
      const pump = () => {
        while (i < n) { if (!res.write(chunk(i++))) { res.once('drain', pump); return; } }
        res.write(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"fake","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":${n},"total_tokens":${n + 3}}}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`FAKE ${(server.address() as AddressInfo).port}\n`));
}

function startChild(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not ready: ${out}`)), 20_000);
    const on = (c: Buffer) => { out += c.toString(); const m = ready.exec(out); if (m) { clearTimeout(t); resolve({ child, match: m }); } };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };

async function stream(dispatcher: Agent, url: string, headers: Record<string, string>, nChunks: number): Promise<{ ttftMs: number; totalMs: number; chunks: number }> {
  const t0 = performance.now();
  const res = await request(url, {
    method: 'POST', dispatcher, headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'go' }], stream: true, max_tokens: nChunks, n_chunks: nChunks }),
  });
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${await res.body.text()}`);
  let ttft = -1;
  let chunks = 0;
  let tail = '';
  for await (const c of res.body) {
    if (ttft < 0) ttft = performance.now() - t0;
    const s = tail + (c as Buffer).toString();
    const parts = s.split('\n\n');
    tail = parts.pop()!;
    for (const p of parts) if (p.includes('"delta":{"content"') || p.includes('"delta":{"role":"assistant","content"')) chunks++;
  }
  return { ttftMs: ttft, totalMs: performance.now() - t0, chunks };
}

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const requests = Number(values.requests);
  const nChunks = Number(values.chunks);
  const concurrency = Number(values.concurrency);
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-ai-bench-'));
  const children: ChildProcess[] = [];
  try {
    const fake = await startChild([fileURLToPath(import.meta.url), '--role', 'fake'], /FAKE (\d+)/);
    children.push(fake.child);
    const fakeUrl = `http://127.0.0.1:${fake.match[1]}`;
    const key = 'pk_bench_ai_key';
    writeFileSync(join(dir, 'pinpoint.yaml'), stringify({
      gateway: { host: '127.0.0.1', port: 0 },
      consumers: [{ id: 'bench-app', keys: [{ id: 'k1', hash: `sha256:${hashApiKey(key)}` }] }],
      routes: [{ id: 'ai-chat', path: '/v1/chat/completions', methods: ['POST'], upstream: 'ai', auth: ['apiKey'] }],
      ai: {
        providers: { fake: { type: 'openai-compatible', baseUrl: `${fakeUrl}/v1` } },
        models: { bench: { provider: 'fake', model: 'fake', maxOutputTokens: 1_000_000 } },
        prices: { bench: { inputPerMillion: 1, outputPerMillion: 2 } },
        access: [{ consumer: 'bench-app', models: ['bench'] }],
        quotas: [{ id: 'big', by: 'consumer', period: 'day', tokens: 2_000_000_000 }],
      },
    }));
    const gw = await startChild([join(root, 'bin/pinpoint.js'), 'serve', '--config', join(dir, 'pinpoint.yaml'), '--data-dir', dir, '--port', '0'], /listening on (http:\/\/[^\s]+)/);
    children.push(gw.child);
    const gwUrl = gw.match[1]!;
    const dispatcher = new Agent({ connections: 64 });
    const targets: { name: string; url: string; headers: Record<string, string> }[] = [
      { name: 'direct', url: `${fakeUrl}/v1/chat/completions`, headers: {} },
      { name: 'gateway', url: `${gwUrl}/v1/chat/completions`, headers: { authorization: `Bearer ${key}` } },
    ];
    const results: Record<string, { ttft: number[]; single: number; concurrent: number }> = {};
    for (const t of targets) {
      for (let i = 0; i < 30; i++) await stream(dispatcher, t.url, t.headers, 5); // warm-up
      const ttft: number[] = [];
      for (let i = 0; i < requests; i++) ttft.push((await stream(dispatcher, t.url, t.headers, 5)).ttftMs);
      const one = await stream(dispatcher, t.url, t.headers, nChunks);
      if (one.chunks !== nChunks) throw new Error(`${t.name}: got ${one.chunks} of ${nChunks} chunks`);
      const c0 = performance.now();
      const many = await Promise.all(Array.from({ length: concurrency }, () => stream(dispatcher, t.url, t.headers, nChunks)));
      const cMs = performance.now() - c0;
      results[t.name] = { ttft, single: one.chunks / (one.totalMs / 1000), concurrent: many.reduce((n, m) => n + m.chunks, 0) / (cMs / 1000) };
    }
    await dispatcher.close();
    const d = results.direct!;
    const g = results.gateway!;
    const f = (n: number) => n.toFixed(3);
    const lines = [
      `AI gateway streaming overhead (loopback; load average ${loadavg()[0]!.toFixed(1)}; ${requests} TTFT samples; ${nChunks} chunks per stream)`,
      '',
      '| measure | direct to provider | through Pinpoint | added by the gateway |',
      '| --- | ---: | ---: | ---: |',
      `| time to first chunk p50 (ms) | ${f(pct(d.ttft, 0.5))} | ${f(pct(g.ttft, 0.5))} | ${f(pct(g.ttft, 0.5) - pct(d.ttft, 0.5))} |`,
      `| time to first chunk p90 (ms) | ${f(pct(d.ttft, 0.9))} | ${f(pct(g.ttft, 0.9))} | ${f(pct(g.ttft, 0.9) - pct(d.ttft, 0.9))} |`,
      `| time to first chunk p99 (ms) | ${f(pct(d.ttft, 0.99))} | ${f(pct(g.ttft, 0.99))} | ${f(pct(g.ttft, 0.99) - pct(d.ttft, 0.99))} |`,
      `| chunks/s, one stream | ${d.single.toFixed(0)} | ${g.single.toFixed(0)} | ${((g.single / d.single - 1) * 100).toFixed(1)}% |`,
      `| chunks/s, ${concurrency} concurrent streams | ${d.concurrent.toFixed(0)} | ${g.concurrent.toFixed(0)} | ${((g.concurrent / d.concurrent - 1) * 100).toFixed(1)}% |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.role !== 'fake') await main();
