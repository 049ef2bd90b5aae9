import type { Load } from './lib/wrk.ts';
import { benchKeys, vaultRun, type Env, type System } from './systems.ts';

// The load shapes of the run. Each scenario names the systems it compares and builds the
// wrk load for one of them; the small GET runs every system, the others the bare proxy,
// Pinpoint's full chain and the peers that can do the same thing.

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly about: string;
  readonly systems: readonly string[];
  /** Which number picks the median run with --rounds, and leads the table. */
  readonly metric: 'rps' | 'p99';
  load(system: System, env: Env, base: string, ctx: { bareRps: number | null }): Load | null;
}

/** A JSON object of exactly `bytes` bytes (an order with padding), so every system gets the same body. */
export function jsonOfSize(bytes: number): string {
  const head = '{"sku":"A-1","qty":1,"note":"';
  const end = '"}';
  return head + 'x'.repeat(Math.max(0, bytes - head.length - end.length)) + end;
}

const kb1 = jsonOfSize(1024);
const kb64 = jsonOfSize(64 * 1024);

function credential(system: System, env: Env): Record<string, string> {
  if (system.credential === 'key') return { 'x-api-key': benchKeys.writer };
  if (system.credential === 'jwt') return { authorization: `Bearer ${env.token}` };
  return {};
}

const passing = ['direct', 'bare', 'key', 'nginx', 'haproxy', 'fast-gateway'];
const keyed = ['key', 'nginx', 'haproxy', 'fast-gateway'];

export const scenarios: readonly Scenario[] = [
  {
    id: 'get', title: 'Small GET, keep-alive', metric: 'rps',
    about: 'GET, no body, 50 keep-alive connections, as fast as the system answers; the upstream answers 94 bytes of JSON',
    systems: ['direct', 'bare', 'public', 'key', 'jwt', 'refusal', 'workers', 'nginx', 'haproxy', 'haproxy-jwt', 'fast-gateway'],
    load(system, env, base) {
      if (system.refuses) return { url: `${base}${system.path}`, ...system.refuses };
      return { url: `${base}${system.path}`, method: 'GET', headers: credential(system, env) };
    },
  },
  {
    id: 'post1k', title: '1 KB JSON POST', metric: 'rps', systems: passing,
    about: 'POST of a 1,024-byte JSON body (content-length), keep-alive; the body is streamed to the upstream',
    load: (system, env, base) => ({ url: `${base}${system.path}`, method: 'POST', headers: { ...credential(system, env), 'content-type': 'application/json' }, body: kb1 }),
  },
  {
    id: 'post64k', title: '64 KB JSON POST', metric: 'rps', systems: passing,
    about: 'POST of a 65,536-byte JSON body, keep-alive',
    load: (system, env, base) => ({ url: `${base}${system.path}`, method: 'POST', headers: { ...credential(system, env), 'content-type': 'application/json' }, body: kb64 }),
  },
  {
    id: 'close', title: 'Small GET, a new connection per request', metric: 'rps', systems: passing,
    about: 'wrk sends Connection: close: every request pays a TCP handshake and close with the system (the upstream side stays pooled)',
    load: (system, env, base) => ({ url: `${base}${system.path}`, method: 'GET', headers: { ...credential(system, env), connection: 'close' } }),
  },
  {
    id: 'keys10k', title: '10k distinct API keys', metric: 'rps', systems: keyed,
    about: 'small GET, each request with the next of 10,000 keys (all valid), cycled: no key is hot',
    load: (_system, env, base) => ({ url: `${base}/api/orders`, method: 'GET', headers: {}, rotate: env.manyKeys.map((k) => ({ 'x-api-key': k })) }),
  },
  {
    id: 'refuse50', title: '50% refusals', metric: 'rps', systems: keyed,
    about: 'small GET, every other request with an unknown key (401, logged by Pinpoint), the others pass',
    load: (_system, _env, base) => ({ url: `${base}/api/orders`, method: 'GET', headers: {}, rotate: [{ 'x-api-key': benchKeys.writer }, { 'x-api-key': benchKeys.unknown }] }),
  },
  {
    id: 'vault', title: 'Vault: get secret over HTTPS', metric: 'rps', systems: ['vault'],
    about: 'GET /secrets/bench-secret (64-byte value) over HTTPS, keep-alive, one bearer token from the vault\'s token service (a verified-token cache hit after its first use)',
    load: (system, _env, base) => ({ url: `${base}${system.path}`, method: 'GET', headers: { authorization: `Bearer ${vaultRun.token}` } }),
  },
  {
    id: 'halfsat', title: 'Latency at half the bare proxy\'s saturation rate', metric: 'p99', systems: passing,
    about: 'small GET at a fixed rate of half the bare proxy\'s small-GET requests/s (this run), 50 connections, paced by a wrk Lua schedule',
    load(system, env, base, ctx) {
      if (ctx.bareRps === null) return null;
      return { url: `${base}${system.path}`, method: 'GET', headers: credential(system, env), rate: Math.round(ctx.bareRps / 2) };
    },
  },
];
