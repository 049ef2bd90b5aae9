import { existsSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compileConfig, type CompiledConfig } from '../config/compile.ts';
import { ConfigError, loadConfigFile } from '../config/load.ts';
import { TokenCache } from '../checks/jwt.ts';
import { LocalCounterStore } from '../limits/local-counter-store.ts';
import { isIP } from 'node:net';
import { routeRequest } from '../pipeline/route-request.ts';
import { runChain, type ChainOutcome } from '../pipeline/run-chain.ts';
import { renderCheckTable } from '../explain/render.ts';
import { reasons } from '../reasons/catalogue.ts';
import { UsageError } from './serve.ts';
import { withTenancyState } from '../tenancy/offline.ts';

export const simulateUsage = `pinpoint simulate --method M --path /p [--key K | --token T] [--ip ADDR] [--header "Name: value"]...
                  [--skip CHECK|PHASE]... [--as-ip ADDR] [--config FILE | --data-dir DIR] [--json]
  Runs a described request through the checks without calling the upstream and prints the decision.
  --skip/--as-ip bypass or override one layer without touching production, to isolate the blocking layer.
  Limits are read from empty counters (simulate runs offline) and never consumed.`;

export interface SimulationResult {
  readonly decision: 'allow' | 'deny';
  readonly status: number | null;
  readonly code: string | null;
  readonly routeId: string | null;
  readonly deniedBy: string | null;
  readonly detail: string | null;
  readonly checks: ChainOutcome['records'];
  /** Every layer that would refuse, found by bypassing each refusing check in turn. */
  readonly blockingLayers: readonly { check: string; code: string }[];
}

export async function simulate(config: CompiledConfig, req: { method: string; url: string; headers: IncomingHttpHeaders; ip: string; asIp?: string | undefined; skip: ReadonlySet<string> }): Promise<SimulationResult> {
  const input = { requestId: 'simulated', method: req.method, url: req.url, headers: req.headers, peerIp: req.ip, now: Date.now(), dryRun: true, clientIpOverride: req.asIp };
  const first = routeRequest(config, input);
  if (first.kind === 'refused') {
    return { decision: 'deny', status: reasons[first.code].status, code: first.code, routeId: null, deniedBy: 'router', detail: first.detail, checks: [], blockingLayers: [{ check: 'router', code: first.code }] };
  }
  const run = async (skip: ReadonlySet<string>) => {
    const routing = routeRequest(config, input);
    if (routing.kind !== 'routed') throw new Error('unreachable: routing changed between runs');
    return runChain(routing.route.chain, routing.ctx, { skip });
  };
  const outcome = await run(req.skip);
  const blocking: { check: string; code: string }[] = [];
  let probe = outcome;
  const skip = new Set(req.skip);
  for (let i = 0; i < 12 && probe.denial; i++) {
    blocking.push({ check: probe.denial.checkId, code: probe.denial.verdict.code });
    skip.add(probe.denial.checkId === 'authn' ? 'authn' : probe.denial.checkId);
    probe = await run(skip);
  }
  const d = outcome.denial;
  return {
    decision: d ? 'deny' : 'allow', status: d ? reasons[d.verdict.code].status : null, code: d?.verdict.code ?? null,
    routeId: first.route.id, deniedBy: d?.checkId ?? null, detail: d?.verdict.detail ?? null, checks: outcome.records, blockingLayers: blocking,
  };
}

export async function simulateCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    method: { type: 'string', default: 'GET' }, path: { type: 'string' }, key: { type: 'string' }, token: { type: 'string' },
    ip: { type: 'string', default: '127.0.0.1' }, header: { type: 'string', multiple: true, default: [] }, skip: { type: 'string', multiple: true, default: [] },
    'as-ip': { type: 'string' }, config: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false },
  } });
  if (!values.path) throw new UsageError('--path is required');
  for (const ip of [values.ip, values['as-ip']]) if (ip !== undefined && !isIP(ip)) throw new UsageError(`"${ip}" is not an IP address`);
  const configFile = values.config ? resolve(values.config) : join(resolve(values['data-dir'] ?? './.pinpoint-demo'), 'pinpoint.yaml');
  if (!existsSync(configFile)) { process.stderr.write(`pinpoint simulate: no config at ${configFile}; pass --config or --data-dir\n`); return 1; }
  let config: CompiledConfig;
  const counters = new LocalCounterStore();
  try {
    // With a data directory, the tenancy state (keys, subscriptions, policies) decides too, as on the gateway.
    const { loaded, deps } = await withTenancyState(loadConfigFile(configFile));
    config = compileConfig(loaded, 0, { counters, tokenCache: new TokenCache(), ...deps });
  } catch (err) {
    if (err instanceof ConfigError) { process.stderr.write(`pinpoint simulate: the config has problems:\n${err.message}\n`); return 1; }
    throw err;
  }
  const headers: IncomingHttpHeaders = { host: `${config.gateway.host}:${config.gateway.port}` };
  for (const h of values.header) {
    const colon = h.indexOf(':');
    if (colon < 1) throw new UsageError(`--header must look like "Name: value", got "${h}"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  if (values.key) headers[config.gateway.apiKeyHeader.toLowerCase()] = values.key;
  if (values.token) headers.authorization = `Bearer ${values.token}`;
  const result = await simulate(config, { method: values.method.toUpperCase(), url: values.path, headers, ip: values.ip, asIp: values['as-ip'], skip: new Set(values.skip) });
  counters.close();
  await Promise.all([...config.upstreams.values()].map((u) => u.close()));
  if (values.json) { process.stdout.write(JSON.stringify(result, null, 2) + '\n'); return 0; }
  const lines = [
    `simulated ${values.method.toUpperCase()} ${values.path} from ${values['as-ip'] ?? values.ip}${values.skip.length ? ` with ${values.skip.map((s) => `--skip ${s}`).join(' ')}` : ''}`,
    `route     ${result.routeId ?? '(none)'}`,
    `decision  ${result.decision === 'allow' ? 'ALLOW: would be forwarded to the upstream' : `DENY ${result.status} ${result.code} at "${result.deniedBy}"`}`,
  ];
  if (result.detail) lines.push(`detail    ${result.detail}`);
  if (result.checks.length) lines.push('', 'checks:', ...renderCheckTable(result.checks));
  if (result.blockingLayers.length > 1) {
    lines.push('', `blocking layers, in order (each found by bypassing the one before): ${result.blockingLayers.map((b) => `${b.check} (${b.code})`).join(' -> ')}`);
  } else if (result.blockingLayers.length === 1 && result.deniedBy !== 'router') {
    lines.push('', `only "${result.blockingLayers[0]!.check}" blocks: with --skip ${result.blockingLayers[0]!.check} the request would pass every other check.`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
