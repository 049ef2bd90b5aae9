import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { hashApiKey } from '../src/credentials/directory.ts';
import { demoIssuerPublicJwk } from '../src/demo/demo-keys.ts';
import { call, expectAnswer, expectUpstreamBody } from './lib/checks.ts';
import { BenchAbort, LOAD_CPU, SUT_CPU, launch, node, root, tail, type Proc } from './lib/procs.ts';
import { SECRET_PATH, SECRET_VALUE, httpsCall, prepareVaultDir, vaultApps, vaultToken } from './lib/vault.ts';
import { randomBytes } from 'node:crypto';

// What the benchmark runs: the servers (processes pinned to the SUT CPU) and the systems (a
// table row: a server plus the way a request is authorised). Each system checks, before it
// is timed, that it answers the happy path with the upstream's body and refuses what it must.

export interface Env {
  readonly tmp: string;
  readonly upstreamUrl: string;
  /** An RS256 token from `pinpoint token` (demo issuer), scope orders:read. */
  readonly token: string;
  /** The same, expired 2 min before the run started (beyond the default 30 s clock-skew allowance). */
  readonly expiredToken: string;
  /** A valid token whose only scope is reports:read (GET /api/orders needs orders:read). */
  readonly otherScopeToken: string;
  /** The 10k bench keys every keyed system knows, besides the writer key. */
  readonly manyKeys: readonly string[];
  /** Pinpoint's full-chain config with the 10k keys added, written at start. */
  readonly fullChainConfig: string;
  /** The same keys, one a line (HAProxy's ACL file, fast-gateway). */
  readonly keysFile: string;
  /** The demo issuer's public key as PEM, for HAProxy's jwt_verify. */
  readonly jwtPem: string;
}

export const benchKeys = { reader: 'pk_bench_reader', writer: 'pk_bench_writer', unknown: 'pk_bench_nobody' } as const;
export const MANY_KEYS = 10_000;

export interface ServerSpec {
  readonly id: string;
  /** Debian tools this server needs. */
  readonly needs?: readonly string[];
  /** A peer: checked through a second listener on [::1]. */
  readonly peer?: boolean;
  /** Pinpoint: its call log is counted at the end. */
  readonly pinpoint?: boolean;
  readonly stopSignal?: NodeJS.Signals;
  /** Served over TLS (the vault): the base URLs are https. */
  readonly https?: boolean;
  /** Written before start (async work the synchronous start cannot do). */
  prepare?(env: Env): Promise<void>;
  /** Where it is pinned, for the output (default: CPU 0). */
  readonly cpus?: string;
  /** port: the 127.0.0.1 listener; port6: a [::1] listener (outside 127.0.0.0/8) for the IP check. */
  start(env: Env, port: number, port6: number): Proc;
}

export interface System {
  readonly id: string;
  readonly name: string;
  /** What this row shows, for the notes. */
  readonly about: string;
  readonly server: string;
  /** How requests are authorised: none, an API key header, or a bearer JWT. */
  readonly credential: 'none' | 'key' | 'jwt';
  readonly path: string;
  /** Every answer is a refusal (a 4xx counted as the work done); only in the small-GET table. */
  readonly refuses?: { method: 'POST'; headers: Record<string, string>; body: string };
  /** Before timing: the happy path answers as it should and what must be refused is. Returns lines to print. */
  verify(env: Env, base: string, base6: string): Promise<string[]>;
}

export const smallJson = '{"sku":"A-1","qty":1}';

function pinpointServer(id: string, config: (env: Env) => string, workers = 1): ServerSpec {
  // Two workers cannot share one CPU meaningfully: they get both, CPU 1 shared with wrk and the upstream.
  const cpus = workers > 1 ? `${SUT_CPU},${LOAD_CPU}` : String(SUT_CPU);
  return {
    id, pinpoint: true, cpus,
    start(env, port) {
      const dataDir = join(env.tmp, `data-${id}`);
      mkdirSync(dataDir, { recursive: true });
      return launch(`pinpoint (${id})`, cpus, node, ['bin/pinpoint.js', 'serve', '--config', config(env), '--data-dir', dataDir, '--port', String(port), ...(workers > 1 ? ['--workers', String(workers)] : [])], { BENCH_UPSTREAM_URL: env.upstreamUrl });
    },
  };
}

/** The vault's state once checked: the bearer token wrk sends (from the vault's token service). */
export const vaultRun = { token: '' };

/** nginx.conf with its placeholders filled in, under <tmp>/nginx/. */
function nginxConfig(env: Env, port: number, port6: number): string {
  const dir = join(env.tmp, 'nginx');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'keys.map'), env.manyKeys.map((k) => `"${k}" 0;\n`).join(''));
  const text = readFileSync(join(root, 'bench/configs/nginx.conf'), 'utf8')
    // As root nginx would switch its worker to nobody, who cannot enter the private tmp dir.
    .replaceAll('@USER@', process.getuid?.() === 0 ? 'user root;' : '')
    .replaceAll('@TMP@', dir).replaceAll('@PORT@', String(port)).replaceAll('@PORT6@', String(port6))
    .replaceAll('@UPSTREAM@', new URL(env.upstreamUrl).host);
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, text);
  return file;
}

function haproxyServer(id: string, jwt: boolean): ServerSpec {
  return {
    id, needs: ['haproxy'], peer: true,
    start(env, port, port6) {
      const log = join(env.tmp, `${id}.log`);
      // The per-request log goes to a file (a pipe to this script would cost this script CPU).
      return launch(id, SUT_CPU, 'sh', ['-c', 'exec haproxy -db -f "$0" >"$1"', join(root, 'bench/configs/haproxy.cfg'), log], {
        PP_PORT: String(port), PP_PORT6: String(port6), PP_UPSTREAM: new URL(env.upstreamUrl).host, PP_KEYS: env.keysFile,
        ...(jwt ? { PP_JWT_KEY: env.jwtPem } : {}),
      });
    },
  };
}

export const servers: readonly ServerSpec[] = [
  { id: 'direct', start: (_env, port) => launch('upstream (baseline on CPU 0)', SUT_CPU, node, ['bench/upstream.ts', '--port', String(port)]) },
  { id: 'bare', start: (env, port) => launch('bare proxy', SUT_CPU, node, ['bench/bare-proxy.ts', '--port', String(port), '--upstream', env.upstreamUrl]) },
  pinpointServer('pinpoint-public', () => 'bench/configs/public.yaml'),
  pinpointServer('pinpoint-full', (env) => env.fullChainConfig),
  pinpointServer('pinpoint-workers', (env) => env.fullChainConfig, 2),
  {
    id: 'vault', https: true,
    prepare: async (env) => { mkdirSync(join(env.tmp, 'vault'), { recursive: true }); await prepareVaultDir(join(env.tmp, 'vault')); },
    start: (env, port) => launch('vault', SUT_CPU, node, ['bench/vault-get-secret.ts', '--serve', join(env.tmp, 'vault'), '--port', String(port)], { PINPOINT_VAULT_MASTER_KEY: randomBytes(32).toString('base64') }),
  },
  {
    id: 'nginx', needs: ['nginx'], stopSignal: 'SIGQUIT', peer: true,
    start(env, port, port6) {
      const file = nginxConfig(env, port, port6);
      return launch('nginx', SUT_CPU, 'nginx', ['-p', join(env.tmp, 'nginx'), '-c', file, '-e', join(env.tmp, 'nginx', 'error.log')]);
    },
  },
  haproxyServer('haproxy', false),
  haproxyServer('haproxy-jwt', true),
  {
    id: 'fast-gateway', peer: true,
    start: (env, port, port6) => launch('fast-gateway', SUT_CPU, node, ['bench/fast-gateway.ts', '--port', String(port), '--port6', String(port6), '--upstream', env.upstreamUrl, '--keys', env.keysFile]),
  },
];

const key = (k: string) => ({ headers: { 'x-api-key': k } });

/** The checks every keyed peer passes: the same refusals Pinpoint makes, as far as the peer can express them. */
async function verifyKeyedPeer(what: string, base: string, base6: string, env: Env, rateHeader: string | null): Promise<string[]> {
  const url = `${base}/api/orders`;
  const ok = await call(url, key(benchKeys.writer));
  expectAnswer(`${what}: GET with the writer key`, ok, 'ok');
  expectUpstreamBody(`${what}: GET with the writer key`, ok);
  if (rateHeader && !ok.headers.get(rateHeader)) throw new BenchAbort(`check failed, ${what}: no ${rateHeader} header, so the rate limit did not run`);
  const many = env.manyKeys[env.manyKeys.length - 1]!;
  expectAnswer(`${what}: GET with one of the 10k keys`, await call(url, key(many)), 'ok');
  expectAnswer(`${what}: GET without a key`, await call(url), 401);
  expectAnswer(`${what}: GET with an unknown key`, await call(url, key(benchKeys.unknown)), 401);
  expectAnswer(`${what}: GET from ::1 (outside 127.0.0.0/8)`, await call(`${base6}/api/orders`, key(benchKeys.writer)), 403);
  expectAnswer(`${what}: POST a JSON body with the writer key`, await call(url, { method: 'POST', headers: { 'x-api-key': benchKeys.writer, 'content-type': 'application/json' }, body: smallJson }), 'ok');
  expectAnswer(`${what}: GET an unknown path`, await call(`${base}/api/nowhere`, key(benchKeys.writer)), 404);
  return [`GET with key -> 200 with the upstream body${rateHeader ? ` and ${rateHeader} (rate limit ran)` : ''}`, 'one of the 10k keys -> 200',
    'no key -> 401', 'unknown key -> 401', 'from ::1 (outside the allow-list) -> 403', 'POST JSON -> 200', 'unknown path -> 404'];
}

function simulateIpRefusal(env: Env): void {
  const r = spawnSync(node, ['bin/pinpoint.js', 'simulate', '--config', env.fullChainConfig, '--method', 'GET', '--path', '/api/orders', '--key', benchKeys.writer, '--ip', '10.1.2.3', '--json'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, BENCH_UPSTREAM_URL: env.upstreamUrl } });
  let code: string | null = null;
  try { code = (JSON.parse(r.stdout) as { code: string | null }).code; } catch { code = null; }
  if (code !== 'ip_not_allowed') throw new BenchAbort(`check failed: \`pinpoint simulate\` from 10.1.2.3 should be refused with ip_not_allowed, got ${code ?? tail(r.stderr)}`);
}

export const systems: readonly System[] = [
  {
    id: 'direct', name: 'upstream direct (baseline)', server: 'direct', credential: 'none', path: '/api/orders',
    about: 'wrk straight to a second instance of bench/upstream.ts (same code, same body) on CPU 0: for the baseline the upstream is the system under test',
    async verify(_env, base) {
      const a = await call(`${base}/api/orders`);
      expectAnswer('GET upstream', a, 'ok');
      expectUpstreamBody('GET upstream', a);
      return ['GET -> 200 with the upstream body (the upstream enforces nothing)'];
    },
  },
  {
    id: 'bare', name: 'bare proxy (node:http + undici)', server: 'bare', credential: 'none', path: '/api/orders',
    about: 'bench/bare-proxy.ts: node:http server streaming through undici Pool.dispatch, no routing, checks or log; the runtime floor',
    async verify(_env, base) {
      const a = await call(`${base}/api/orders`);
      expectAnswer('GET through the bare proxy', a, 'ok');
      expectUpstreamBody('GET through the bare proxy', a);
      return ['GET -> 200 with the upstream body (the bare proxy enforces nothing)'];
    },
  },
  {
    id: 'public', name: 'Pinpoint, no checks', server: 'pinpoint-public', credential: 'none', path: '/api/public/orders',
    about: 'bench/configs/public.yaml: routing, request-shape check, forwarding, call log',
    async verify(_env, base) {
      const ok = await call(`${base}/api/public/orders`);
      expectAnswer('GET public route', ok, 'ok');
      expectUpstreamBody('GET public route', ok);
      if (!ok.headers.get('x-request-id')) throw new BenchAbort('check failed: the public route answered without x-request-id, so it did not come through Pinpoint');
      expectAnswer('GET unknown path', await call(`${base}/api/nowhere`), 404, 'route_not_found');
      expectAnswer('POST on a GET-only route', await call(`${base}/api/public/orders`, { method: 'POST' }), 405, 'method_not_allowed');
      return ['GET -> 200 with the upstream body and x-request-id', 'unknown path -> 404 route_not_found', 'POST -> 405 method_not_allowed'];
    },
  },
  {
    id: 'key', name: 'Pinpoint, full chain, API key', server: 'pinpoint-full', credential: 'key', path: '/api/orders',
    about: 'bench/configs/full-chain.yaml plus 10k generated keys: API key, account status, scopes, IP allow-list 127.0.0.0/8, GCRA rate limit, call log',
    async verify(env, base) {
      const url = `${base}/api/orders`;
      const ok = await call(url, key(benchKeys.writer));
      expectAnswer('GET with the writer key', ok, 'ok');
      expectUpstreamBody('GET with the writer key', ok);
      if (!ok.headers.get('ratelimit')) throw new BenchAbort('check failed: GET with a key answered without a RateLimit header, so the rate limit did not run');
      expectAnswer('GET with one of the 10k keys', await call(url, key(env.manyKeys[env.manyKeys.length - 1]!)), 'ok');
      expectAnswer('GET without a key', await call(url), 401, 'credential_missing');
      expectAnswer('GET with an unknown key', await call(url, key(benchKeys.unknown)), 401, 'credential_unknown');
      expectAnswer('POST with the read-only key', await call(url, { method: 'POST', headers: { 'x-api-key': benchKeys.reader, 'content-type': 'application/json' }, body: smallJson }), 403, 'insufficient_scope');
      expectAnswer('POST with the writer key', await call(url, { method: 'POST', headers: { 'x-api-key': benchKeys.writer, 'content-type': 'application/json' }, body: smallJson }), 'ok');
      simulateIpRefusal(env);
      return ['GET with key -> 200 with the upstream body and RateLimit headers', 'one of the 10k keys -> 200', 'no key -> 401 credential_missing', 'unknown key -> 401 credential_unknown',
        'read-only key on POST -> 403 insufficient_scope; writer key -> 200', '`pinpoint simulate` from 10.1.2.3 -> 403 ip_not_allowed (the allow-list is in the chain)'];
    },
  },
  {
    id: 'jwt', name: 'Pinpoint, full chain, JWT', server: 'pinpoint-full', credential: 'jwt', path: '/api/orders',
    about: 'the same route with Authorization: Bearer <RS256 token from `pinpoint token`>; one token, so after the first request it is a verified-token cache hit',
    async verify(env, base) {
      const url = `${base}/api/orders`;
      const [h, p, s] = env.token.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      expectAnswer('GET with a tampered token', await call(url, { headers: { authorization: `Bearer ${flipped}` } }), 401, 'token_signature_invalid');
      const ok = await call(url, { headers: { authorization: `Bearer ${env.token}` } });
      expectAnswer('GET with the token', ok, 'ok');
      expectUpstreamBody('GET with the token', ok);
      expectAnswer('GET with an expired token', await call(url, { headers: { authorization: `Bearer ${env.expiredToken}` } }), 401, 'credential_expired');
      expectAnswer('GET with a token scoped reports:read', await call(url, { headers: { authorization: `Bearer ${env.otherScopeToken}` } }), 403, 'insufficient_scope');
      expectAnswer('POST with a token scoped orders:read', await call(url, { method: 'POST', headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json' }, body: smallJson }), 403, 'insufficient_scope');
      return ['tampered signature -> 401 token_signature_invalid', 'GET with token -> 200 with the upstream body', 'expired token -> 401 credential_expired', 'token without orders:read -> 403 insufficient_scope', 'token without orders:write on POST -> 403 insufficient_scope'];
    },
  },
  {
    id: 'refusal', name: 'Pinpoint, 100% refusals (403)', server: 'pinpoint-full', credential: 'key', path: '/api/orders',
    refuses: { method: 'POST', headers: { 'x-api-key': benchKeys.reader, 'content-type': 'application/json' }, body: smallJson },
    about: 'POST with the read-only key (a small JSON body): refused by the scope check with 403 insufficient_scope, logged, never forwarded',
    async verify(_env, base) {
      const url = `${base}/api/orders`;
      const init = (k: string) => ({ method: 'POST', headers: { 'x-api-key': k, 'content-type': 'application/json' }, body: smallJson });
      expectAnswer('POST with the read-only key', await call(url, init(benchKeys.reader)), 403, 'insufficient_scope');
      return ['read-only key on POST -> 403 insufficient_scope (the writer key passes the same POST: checked above)'];
    },
  },
  {
    id: 'workers', name: 'Pinpoint, full chain, API key, --workers 2', server: 'pinpoint-workers', credential: 'key', path: '/api/orders',
    about: 'the full-chain config (10k keys) served by `pinpoint serve --workers 2` (node:cluster, 2 processes on one listener), pinned to CPUs 0 AND 1: CPU 1 is shared with wrk and the upstream, so this is what two workers add on this 2-core machine, not a 2-core scaling figure',
    verify: (env, base, base6) => systems.find((s) => s.id === 'key')!.verify(env, base, base6),
  },
  {
    id: 'nginx', name: 'nginx (1 worker)', server: 'nginx', credential: 'key', path: '/api/orders',
    about: 'bench/configs/nginx.conf: proxy_pass with upstream keepalive, API key map (10k keys), allow 127.0.0.0/8, limit_req, buffered access log',
    verify: (env, base, base6) => verifyKeyedPeer('nginx', base, base6, env, 'x-limit-req'),
  },
  {
    id: 'haproxy', name: 'HAProxy (1 thread)', server: 'haproxy', credential: 'key', path: '/api/orders',
    about: 'bench/configs/haproxy.cfg: API key ACL from a file (10k keys), src ACL 127.0.0.0/8, stick-table rate limit, log line per request',
    verify: (env, base, base6) => verifyKeyedPeer('haproxy', base, base6, env, 'x-rate-count'),
  },
  {
    id: 'haproxy-jwt', name: 'HAProxy (1 thread), JWT', server: 'haproxy-jwt', credential: 'jwt', path: '/api/orders',
    about: 'the same with jwt_verify RS256 (+ alg, iss, aud, exp, scope) instead of the key; HAProxy has no verified-token cache: every request is a full RS256 verification',
    async verify(env, base, base6) {
      const url = `${base}/api/orders`;
      const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
      const [h, p, s] = env.token.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
      const ok = await call(url, bearer(env.token));
      expectAnswer('haproxy-jwt: GET with the token', ok, 'ok');
      expectUpstreamBody('haproxy-jwt: GET with the token', ok);
      expectAnswer('haproxy-jwt: GET with a tampered token', await call(url, bearer(flipped)), 401);
      expectAnswer('haproxy-jwt: GET without a token', await call(url), 401);
      expectAnswer('haproxy-jwt: GET with an expired token', await call(url, bearer(env.expiredToken)), 401);
      expectAnswer('haproxy-jwt: GET with a token scoped reports:read', await call(url, bearer(env.otherScopeToken)), 403);
      expectAnswer('haproxy-jwt: GET from ::1', await call(`${base6}/api/orders`, bearer(env.token)), 403);
      return ['GET with token -> 200 with the upstream body', 'tampered signature -> 401', 'no token -> 401', 'expired token -> 401', 'token without orders:read -> 403', 'from ::1 -> 403'];
    },
  },
  {
    id: 'fast-gateway', name: 'fast-gateway (Node)', server: 'fast-gateway', credential: 'key', path: '/api/orders',
    about: 'bench/fast-gateway.ts: fast-gateway (npm) with an onRequest hook: API key (Set of 10k keys), IP allow-list, per-key counter; no log',
    verify: (env, base, base6) => verifyKeyedPeer('fast-gateway', base, base6, env, null),
  },
  {
    id: 'vault', name: 'Pinpoint vault, get secret (HTTPS)', server: 'vault', credential: 'none', path: SECRET_PATH,
    about: 'the vault (bench/vault-get-secret.ts --serve) over HTTPS: GET of a 64-byte secret with a bearer token from its token service; token, firewall, throttle (raised), access policy, SQLite read, AES-GCM decryption, audit record',
    async verify(env, base) {
      const ca = readFileSync(join(env.tmp, 'vault', 'ca.pem'), 'utf8');
      const expect = (what: string, got: number, want: number) => { if (got !== want) throw new BenchAbort(`check failed, vault: ${what}: expected ${want}, got ${got}`); };
      const tok = await vaultToken(base, ca, vaultApps.allowed);
      if (!tok.token) throw new BenchAbort(`check failed, vault: the token service gave no token (${tok.status}): ${JSON.stringify(tok.json).slice(0, 300)}`);
      const bearer = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });
      expect('PUT the secret', (await httpsCall(base, ca, SECRET_PATH, { method: 'PUT', headers: bearer(tok.token), body: JSON.stringify({ value: SECRET_VALUE }) })).status, 200);
      const got = await httpsCall(base, ca, SECRET_PATH, { headers: bearer(tok.token) });
      expect('GET the secret', got.status, 200);
      if (got.json.value !== SECRET_VALUE) throw new BenchAbort('check failed, vault: GET answered without the secret\'s value');
      expect('GET without a token', (await httpsCall(base, ca, SECRET_PATH)).status, 401);
      const other = await vaultToken(base, ca, vaultApps.noPolicy);
      if (!other.token) throw new BenchAbort(`check failed, vault: no token for the app without a policy (${other.status})`);
      expect('GET with the token of an app without an access policy', (await httpsCall(base, ca, SECRET_PATH, { headers: bearer(other.token) })).status, 403);
      expect('GET with a tampered token', (await httpsCall(base, ca, SECRET_PATH, { headers: bearer(`${tok.token.slice(0, -4)}AAAA`) })).status, 401);
      vaultRun.token = tok.token;
      return ['token from the token service; PUT then GET -> 200 with the value', 'no token -> 401', 'token of an app without an access policy -> 403', 'tampered token -> 401'];
    },
  },
];

/** The 10k keys, Pinpoint's config holding them, the same keys for the peers, the JWT key as PEM. */
export function writeKeyMaterial(tmp: string): Pick<Env, 'manyKeys' | 'fullChainConfig' | 'keysFile' | 'jwtPem'> {
  const manyKeys = Array.from({ length: MANY_KEYS }, (_, i) => `pk_bench_k${String(i).padStart(5, '0')}`);
  const cfg = parseYaml(readFileSync(join(root, 'bench/configs/full-chain.yaml'), 'utf8')) as { consumers: unknown[] };
  cfg.consumers.push({
    id: 'bench-many', tenant: 'bench-tenant', name: `Benchmark: ${MANY_KEYS} keys`,
    keys: manyKeys.map((k, i) => ({ id: `key_bench_k${i}`, hash: `sha256:${hashApiKey(k)}`, prefix: 'pk_bench', scopes: ['orders:read', 'orders:write'] })),
  });
  const fullChainConfig = join(tmp, 'full-chain-10k.yaml');
  writeFileSync(fullChainConfig, `# generated by bench/run.ts: bench/configs/full-chain.yaml + ${MANY_KEYS} keys\n${stringifyYaml(cfg)}`);
  const keysFile = join(tmp, 'keys.txt');
  writeFileSync(keysFile, `${benchKeys.writer}\n${manyKeys.join('\n')}\n`);
  const jwtPem = join(tmp, 'issuer.pem');
  writeFileSync(jwtPem, createPublicKey({ key: demoIssuerPublicJwk() as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }));
  return { manyKeys, fullChainConfig, keysFile, jwtPem };
}

/** The static config is checked too: its key hashes and JWK must be those the bench sends. */
export function checkConfigs(): void {
  const file = join(root, 'bench/configs/full-chain.yaml');
  const cfg = parseYaml(readFileSync(file, 'utf8')) as { consumers?: { keys?: { id: string; hash: string }[] }[]; issuers?: { jwks?: { keys?: { n?: string; kid?: string }[] } }[] };
  const hashes = new Set((cfg.consumers ?? []).flatMap((c) => (c.keys ?? []).map((k) => k.hash)));
  for (const k of [benchKeys.reader, benchKeys.writer]) {
    if (!hashes.has(`sha256:${hashApiKey(k)}`)) throw new BenchAbort(`${file}: no key entry has the hash of ${k} (expected sha256:${hashApiKey(k)}, see \`pinpoint key hash ${k}\`)`);
  }
  const jwk = demoIssuerPublicJwk();
  const keys = cfg.issuers?.[0]?.jwks?.keys ?? [];
  if (!keys.some((k) => k.n === jwk.n && k.kid === jwk.kid)) throw new BenchAbort(`${file}: the issuer JWK is not demoIssuerPublicJwk() (src/demo/demo-keys.ts); paste the current one`);
}
