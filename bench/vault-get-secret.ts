// Get-secret throughput of the vault: wrk (HTTPS, keep-alive) against one vault process,
// each pinned to its own CPU with taskset, like bench/run.ts. Writes bench/results/vault.md.
//
//   node bench/vault-get-secret.ts [--duration 10] [--warmup 3] [--connections 32] [--no-write]
//   node bench/vault-get-secret.ts --serve DIR     (internal: the vault process)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { hashClientSecret } from '../src/identity/apps.ts';
import { createCa, issueServerCert } from '../src/tls/demo-ca.ts';
import { loadMasterKey } from '../src/vault/master-key.ts';
import { startVaultServer } from '../src/vault/vault-server.ts';

const { values } = parseArgs({ options: {
  serve: { type: 'string' }, duration: { type: 'string', default: '10' }, warmup: { type: 'string', default: '3' },
  connections: { type: 'string', default: '32' }, 'no-write': { type: 'boolean', default: false },
} });

const APP = { clientId: 'bench-app', secret: 'bench-app-secret', objectId: '0b0b0b0b-0000-4000-8000-00000000beef' };

if (values.serve) {
  const dir = values.serve;
  const vault = await startVaultServer({
    settingsFile: join(dir, 'vault.yaml'), databaseFile: join(dir, 'vault.db'), auditFile: join(dir, 'vault-audit.log'), masterKey: loadMasterKey({}),
    tls: { certPem: readFileSync(join(dir, 'server.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'server-key.pem'), 'utf8') }, port: 0, callLog: null, watch: false,
  });
  process.stdout.write(`vault ready ${vault.url}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pinpoint-bench-vault-'));
  const ca = await createCa('Pinpoint bench CA');
  const leaf = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
  writeFileSync(join(dir, 'server.pem'), leaf.certPem);
  writeFileSync(join(dir, 'server-key.pem'), leaf.keyPem);
  // The throttle is raised out of the way: this measures the vault, not its limit (4,000 per 10 s by default).
  writeFileSync(join(dir, 'vault.yaml'), stringify({
    tokenService: { tenants: ['bench'] },
    apps: [{ clientId: APP.clientId, tenant: 'bench', objectId: APP.objectId, clientSecrets: [`sha256:${hashClientSecret(APP.secret)}`] }],
    vaults: [{ name: 'bench', tenant: 'bench', accessPolicies: [{ objectId: APP.objectId, secrets: ['get', 'set'] }], throttle: { read: { requests: 100_000_000, windowSeconds: 10 }, write: { requests: 100_000_000, windowSeconds: 10 } } }],
  }));
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
    const call = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
      const { request } = await import('node:https');
      return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
        const u = new URL(path, url);
        const req = request({ agent: false, hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: init.method ?? 'GET', headers: init.headers, ca: ca.pem }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => { text += c.toString(); });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || '{}') as Record<string, unknown> }));
        });
        req.on('error', reject);
        req.end(init.body);
      });
    };
    const tok = await call('/bench/oauth2/v2.0/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: APP.clientId, client_secret: APP.secret, scope: 'https://vault.localhost/.default' }).toString() });
    const token = tok.json.access_token as string;
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const set = await call('/secrets/bench-secret?api-version=7.5', { method: 'PUT', headers: auth, body: JSON.stringify({ value: 'x'.repeat(64) }) });
    const check = await call('/secrets/bench-secret?api-version=7.5', { headers: auth });
    if (set.status !== 200 || check.status !== 200) throw new Error(`the happy path failed before timing: set ${set.status}, get ${check.status}`);

    const target = `${url}/secrets/bench-secret?api-version=7.5`;
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
