// Get-secret throughput of the vault: wrk (HTTPS, keep-alive) against one vault process,
// each pinned to its own CPU with taskset, like bench/run.ts. Writes bench/results/vault.md.
//
//   node bench/vault-get-secret.ts [--duration 10] [--warmup 3] [--connections 32] [--no-write]
//   node bench/vault-get-secret.ts --serve DIR [--port N]   (the vault process; also the `vault` system of bench/run.ts)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SECRET_PATH, SECRET_VALUE, httpsCall, prepareVaultDir, vaultApps, vaultToken } from './lib/vault.ts';
import { loadMasterKey } from '../src/vault/master-key.ts';
import { startVaultServer } from '../src/vault/vault-server.ts';

const { values } = parseArgs({ options: {
  serve: { type: 'string' }, port: { type: 'string', default: '0' }, duration: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' },
  connections: { type: 'string', default: '32' }, 'no-write': { type: 'boolean', default: false },
} });

if (values.serve) {
  const dir = values.serve;
  await prepareVaultDir(dir);
  const vault = await startVaultServer({
    settingsFile: join(dir, 'vault.yaml'), databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'vault-audit.log'), masterKey: loadMasterKey({}),
    tls: { certPem: readFileSync(join(dir, 'server.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'server-key.pem'), 'utf8') }, port: Number(values.port), callLog: null, watch: false,
  });
  process.stdout.write(`vault ready ${vault.url}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-bench-vault-'));
  await prepareVaultDir(dir);
  const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const twoCpus = cpus().length >= 2;
  const pin = (cpu: number, cmd: string, args: string[]): [string, string[]] => (twoCpus ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]);
  const [cmd, args] = pin(1, process.execPath, [new URL(import.meta.url).pathname, '--serve', dir]);
  const child: ChildProcess = spawn(cmd, args, { env: { ...process.env, PINPOINT_VAULT_MASTER_KEY: randomBytes(32).toString('base64') }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => { out += c.toString(); const m = /vault ready (\S+)/.exec(out); if (m) resolve(m[1]!); });
      child.once('exit', (code) => reject(new Error(`vault exited ${code}`)));
    });
    const token = (await vaultToken(url, caPem, vaultApps.allowed)).token ?? '';
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const set = await httpsCall(url, caPem, SECRET_PATH, { method: 'PUT', headers: auth, body: JSON.stringify({ value: SECRET_VALUE }) });
    const check = await httpsCall(url, caPem, SECRET_PATH, { headers: auth });
    if (set.status !== 200 || check.status !== 200) throw new Error(`the happy path failed before timing: set ${set.status}, get ${check.status}`);

    const target = `${url}${SECRET_PATH}`;
    const wrk = (seconds: string) => {
      const [c, a] = pin(0, 'wrk', ['-t1', `-c${values.connections}`, `-d${seconds}s`, '--latency', '-H', `Authorization: Bearer ${token}`, target]);
      return execFileSync(c, a, { encoding: 'utf8' });
    };
    wrk(values.warmup!);
    const out = wrk(values.duration!);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const lat = (p: string) => /Latency Distribution[\s\S]*?/.test(out) ? (new RegExp(`\\s${p}%\\s+([\\d.]+\\w+)`).exec(out)?.[1] ?? '?') : '?';
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
    const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? 'none';
    const report = [
      '# Vault benchmark: get secret',
      '',
      `Date: ${new Date().toISOString()}  `,
      `Node ${process.version}, CPU ${cpus()[0]?.model ?? '?'} (${cpus().length} cores)${twoCpus ? '; vault pinned to CPU 1, wrk to CPU 0' : ''}  `,
      `Command: \`node bench/vault-get-secret.ts --duration ${values.duration} --connections ${values.connections}\`  `,
      `Load average when the run ended: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (on a shared machine, other work competes for both CPUs)`,
      '',
      'What is measured: `GET /secrets/bench-secret?api-version=7.5` (a 64-byte value) over HTTPS with keep-alive, one bearer token',
      '(after its first use a verified-token cache hit), through the whole vault chain: token, firewall, throttle (raised out of',
      'the way), access policy, a SQLite read, AES-256-GCM unwrap of the data key and decryption of the value, and an audit record.',
      '',
      '| metric | value |',
      '| --- | --- |',
      `| requests/s | ${rps.toFixed(0)} |`,
      `| latency p50 | ${lat('50')} |`,
      `| latency p90 | ${lat('90')} |`,
      `| latency p99 | ${lat('99')} |`,
      `| non-2xx answers | ${non2xx} |`,
      `| socket errors | ${errors} |`,
      '',
      'Key Vault itself allows 4,000 secret transactions per 10 s per vault (400/s); the default throttle here is the same.',
      '',
      '<details><summary>wrk output</summary>',
      '',
      '```',
      out.trim(),
      '```',
      '',
      '</details>',
      '',
    ].join('\n');
    process.stdout.write(report);
    if (!values['no-write']) writeFileSync(new URL('./results/vault.md', import.meta.url), report);
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
