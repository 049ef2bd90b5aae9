import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { DatabaseSync } from 'node:sqlite';
import { compileConfig, type CompiledConfig, type CompiledRoute } from '../config/compile.ts';
import { ConfigError, loadConfigFile, loadConfigText, type LoadedConfig } from '../config/load.ts';
import { TokenCache } from '../checks/jwt.ts';
import type { CounterStore } from '../limits/counter-store.ts';
import { LocalCounterStore } from '../limits/local-counter-store.ts';
import { CallLogWriter } from '../log/call-log-writer.ts';
import { redactHeaders, redactQuery } from '../log/redact.ts';
import { newRequestId } from '../log/request-id.ts';
import type { TraceRecord } from '../log/trace.ts';
import { canonicalIp } from '../net/cidr-set.ts';
import type { ClientAddress } from '../net/client-ip.ts';
import { runChain, type ChainOutcome } from '../pipeline/run-chain.ts';
import type { CheckRecord, Evidence, RequestContext } from '../pipeline/types.ts';
import { forward, upstreamRequestHeaders, type ForwardOutcome } from '../proxy/forward.ts';
import type { Upstream } from '../proxy/upstream.ts';
import { reasons, type ReasonCode } from '../reasons/catalogue.ts';
import { renderProblem, type Verbosity } from '../reasons/problem.ts';
import { routeRequest } from '../pipeline/route-request.ts';
import { recordConfigVersion } from '../store/sqlite/config-versions.ts';
import { openDatabase } from '../store/sqlite/database.ts';
import { SqliteStateStore } from '../store/sqlite/state-store.ts';
import type { StateStore } from '../store/state-store.ts';
import { TenancyRuntime } from '../tenancy/runtime.ts';
import { basename } from 'node:path';
import type { ConfigVersionRow } from '../store/sqlite/config-versions.ts';
import type { Store } from '../store/store.ts';
import { rateLimitHeaders, sendProblem } from './respond.ts';
import type { Logger } from './logger.ts';
import { bufferRequestBody, shouldBuffer } from '../web/request-body.ts';
import type { Responder } from '../web/login.ts';
import { serveAi } from '../ai/handler.ts';
import type { AiRoute } from '../ai/outcome.ts';
import { AiRuntime } from '../ai/runtime.ts';
import type { SecretSource } from '../ai/secrets.ts';

export interface GatewayOptions {
  readonly configFile: string;
  /** The SQLite file for the call log and config versions. */
  readonly databaseFile: string;
  readonly logger: Logger;
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly counters?: CounterStore;
  /**
   * A shared store (PostgreSQL, see docs/multinode.md): the call log and the config versions
   * live there instead of databaseFile. Its owner opens and closes it.
   */
  readonly store?: Store | undefined;
  /** Start on this recorded version instead of the config file (a node joining a cluster). */
  readonly initialConfig?: ConfigVersionRow | undefined;
  /** Where AI provider keys are read (env:// by default); the vault adds its `vault` source here. */
  readonly aiSecretSources?: readonly SecretSource[] | undefined;
  /** The tenancy state store; default the SQLite one in databaseFile. Shared (PostgreSQL) with --store postgresql://. */
  readonly stateStore?: StateStore | undefined;
  /** Other instances' state changes are picked up within this many ms (default 1000). */
  readonly statePollMs?: number;
}

export interface ReloadResult {
  readonly ok: boolean;
  readonly version: number;
  readonly message: string;
}

export interface Gateway {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  readonly writer: CallLogWriter;
  /** The tenancy state store and its compiled form (admin API, explain). */
  readonly tenancy: TenancyRuntime;
  current(): CompiledConfig;
  reload(): ReloadResult;
  /**
   * With a shared store: resolves once a changed config file is recorded as a new version
   * and running. (reload() answers at once and does the same in the background.)
   */
  reloadShared(): Promise<ReloadResult>;
  /** Runs a version recorded by another node (change propagation); its number is kept. */
  adopt(row: ConfigVersionRow): ReloadResult;
  /**
   * The hash of the config file text now running (what the shared store records). current().hash
   * also covers the tenancy state version, so it never equals a recorded version's hash.
   */
  fileHash(): string | null;
  /** The shared store (PostgreSQL) holding the call log and config versions, or null for the SQLite file. */
  readonly sharedStore: Store | null;
  /** The SQLite file of the call log when there is no shared store (and of local data either way). */
  readonly databaseFile: string;
  close(): Promise<void>;
}

const BODY_DRAIN_LIMIT = 64 * 1024;

interface Live {
  config: CompiledConfig;
}

/** Loads, validates and compiles the config (refusing to start on any problem), then listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { logger } = options;
  const shared = options.store ?? null;
  const db: DatabaseSync | null = shared ? null : openDatabase(options.databaseFile);
  const counters = options.counters ?? new LocalCounterStore();
  const tokenCache = new TokenCache();
  const aiRuntime = new AiRuntime(options.databaseFile, options.aiSecretSources);
  const tenancy = await TenancyRuntime.open(options.stateStore ?? new SqliteStateStore(options.databaseFile), basename(options.configFile));
  // A state change recompiles with the last good file, so a broken edit on disk cannot hold admin changes back.
  let lastYaml: LoadedConfig | null = null;
  const compileLoaded = (yaml: LoadedConfig, previous: ReadonlyMap<string, Upstream> | undefined): CompiledConfig => {
    const seed = tenancy.seedFrom(yaml.config);
    let compiled: CompiledConfig;
    try {
      // Compiled with a provisional number first so a broken config never takes a version.
      compiled = compileConfig(tenancy.overlay(yaml), 0, { counters, tokenCache, previousUpstreams: previous, ai: aiRuntime, routeChecks: (r, src) => tenancy.routeChecks(r, src), resourceChecks: (r, src) => tenancy.resourceChecks(r, src) });
    } catch (err) {
      seed.rollback();
      throw err;
    }
    seed.confirm();
    lastYaml = yaml;
    return { ...compiled, tenancy: tenancy.compiled };
  };
  const compile = (previous: ReadonlyMap<string, Upstream> | undefined, fromState = false): CompiledConfig => {
    const yaml = fromState && lastYaml ? lastYaml : loadConfigFile(options.configFile);
    const compiled = compileLoaded(yaml, previous);
    const version = recordConfigVersion(db!, yaml.hash, yaml.file, yaml.text, Date.now());
    return { ...compiled, version };
  };
  const fromRow = (row: ConfigVersionRow, previous: ReadonlyMap<string, Upstream> | undefined): CompiledConfig => ({ ...compileLoaded(loadConfigText(row.text, row.file), previous), version: row.version });
  const startShared = async (store: Store): Promise<CompiledConfig> => {
    if (options.initialConfig) return fromRow(options.initialConfig, undefined);
    const loaded = loadConfigFile(options.configFile);
    const compiled = compileLoaded(loaded, undefined);
    return { ...compiled, version: await store.recordConfigVersion(loaded.hash, loaded.file, loaded.text, Date.now()) };
  };
  const live: Live = { config: shared ? await startShared(shared) : compile(undefined) };
  for (const up of live.config.upstreams.values()) up.startHealthChecks();
  const gw = live.config.gateway;
  const writer = new CallLogWriter(shared?.location ?? options.databaseFile, {
    maxPending: live.config.raw.log.maxPending,
    flushIntervalMs: live.config.raw.log.flushIntervalMs,
    retentionHours: live.config.raw.log.retentionHours,
    onError: (m) => logger.error({ event: 'call_log_error' }, m),
  });

  const timeouts = listenerTimeouts(gw);
  const server = createServer({
    maxHeaderSize: gw.maxHeaderBytes,
    ...timeouts,
    // Node enforces headersTimeout/requestTimeout only when it sweeps its connections,
    // every 30 s by default: a slowloris client would hold a socket for up to 30 s past
    // its deadline. Sweep often enough that the configured limits mean what they say.
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(Math.min(timeouts.headersTimeout, timeouts.requestTimeout) / 4))),
    // By default Node keeps the first copy of a repeated Authorization, Host or similar
    // header and silently drops the others; joined, a repeated credential is visible and
    // refused as malformed instead of half-read.
    joinDuplicateHeaders: true,
    // A request without Host is refused by routeRequest, with a reason code and a log record.
    requireHostHeader: false,
  }, (req, res) => serve(req, res));
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handleRequest(live.config, writer, req, res);
    } catch (err) {
      internalError(live.config, writer, req, res, err, logger);
    }
  };
  // Expect: 100-continue is answered only once the checks pass (in afterChain), so a
  // refused client is not invited to upload a body that will be thrown away.
  server.on('checkContinue', serve);
  // The parser's header limit is fixed when the server is created; a reload cannot change it.
  const maxHeaderBytes = gw.maxHeaderBytes;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => onClientError(live.config, writer, err, socket, maxHeaderBytes));

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? gw.port, options.host ?? gw.host, () => { server.off('error', reject); resolve(); });
    });
  } catch (err) {
    // A taken port must not leave the log thread, health-check timers and the state poll
    // running: the caller reports it and the process has to be able to exit. Each step runs
    // whatever the others do, and the listen error is the one that reaches the caller.
    const release: (() => unknown)[] = [
      () => writer.close(), ...[...live.config.upstreams.values()].map((u) => () => u.close()),
      () => { if (!options.counters) counters.close(); }, () => aiRuntime.close(), () => tenancy.close(), () => db?.close(),
    ];
    await Promise.allSettled(release.map(async (step) => step()));
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ event: 'gateway_listening', port: address.port, configVersion: live.config.version, routes: live.config.routes.length }, `gateway listening on http://${host}:${address.port} (config v${live.config.version})`);

  const retired = new Set<Upstream>();
  const install = (before: CompiledConfig, next: CompiledConfig): ReloadResult => {
      live.config = next;
      // Timeouts are read by Node at each connection sweep, so they apply to a running listener;
      // the header size limit, host and port need a restart.
      const t = listenerTimeouts(next.gateway);
      server.headersTimeout = t.headersTimeout;
      server.requestTimeout = t.requestTimeout;
      server.keepAliveTimeout = t.keepAliveTimeout;
      const restartOnly = (['maxHeaderBytes', 'host', 'port'] as const).filter((k) => next.gateway[k] !== before.gateway[k]);
      if (restartOnly.length > 0) logger.warn({ event: 'config_needs_restart', settings: restartOnly }, `gateway.${restartOnly.join(', gateway.')} changed: takes effect on restart`);
      for (const up of next.upstreams.values()) up.startHealthChecks();
      // Pools of removed or changed upstreams close once the requests routed to them are over.
      for (const [name, up] of before.upstreams) {
        if (next.upstreams.get(name) === up) continue;
        retired.add(up);
        void up.retire().then(() => retired.delete(up));
      }
      logger.info({ event: 'config_reloaded', configVersion: next.version }, `config v${next.version} loaded`);
      return { ok: true, version: next.version, message: `config v${next.version} loaded` };
  };
  const rejected = (before: CompiledConfig, err: unknown): ReloadResult => {
    const message = err instanceof ConfigError ? err.message : (err as Error).message;
    logger.error({ event: 'config_rejected', keptVersion: before.version }, `config change rejected, keeping v${before.version}:\n${message}`);
    return { ok: false, version: before.version, message };
  };
  const reloadShared = async (): Promise<ReloadResult> => {
    const before = live.config;
    let loaded: LoadedConfig;
    let next: CompiledConfig;
    try {
      loaded = loadConfigFile(options.configFile);
      if (loaded.hash === before.hash) return { ok: true, version: before.version, message: 'config unchanged' };
      next = compileLoaded(loaded, before.upstreams);
    } catch (err) {
      return rejected(before, err);
    }
    try {
      const version = await shared!.recordConfigVersion(loaded.hash, loaded.file, loaded.text, Date.now());
      // Our own notification may have installed it already, or another node's newer version.
      if (live.config.version === version && live.config.hash === loaded.hash) return { ok: true, version, message: `config v${version} loaded` };
      if (live.config.version > version) return { ok: true, version: live.config.version, message: `config v${version} recorded; v${live.config.version} is newer and kept` };
      return install(live.config, { ...next, version });
    } catch (err) {
      logger.error({ event: 'config_not_recorded', keptVersion: before.version }, `config change not recorded in the shared store, keeping v${before.version}: ${(err as Error).message}`);
      return { ok: false, version: before.version, message: `the shared store did not record the change: ${(err as Error).message}` };
    }
  };
  const reload = (fromState = false): ReloadResult => {
    const before = live.config;
    if (shared && fromState) {
      // A tenancy state change recompiles the chains under the same config version.
      try {
        const next = { ...compileLoaded(lastYaml ?? loadConfigFile(options.configFile), before.upstreams), version: before.version };
        if (next.hash === before.hash) return { ok: true, version: before.version, message: 'config unchanged' };
        return install(before, next);
      } catch (err) {
        return rejected(before, err);
      }
    }
    if (shared) {
      // Validated now so a broken file is reported at once; recorded and applied in the background.
      try {
        const loaded = loadConfigFile(options.configFile);
        if (loaded.hash === lastYaml?.hash) return { ok: true, version: before.version, message: 'config unchanged' };
        compileLoaded(loaded, before.upstreams);
      } catch (err) {
        return rejected(before, err);
      }
      void reloadShared();
      return { ok: true, version: before.version, message: 'config valid; recording it in the shared store, then applying it' };
    }
    try {
      const next = compile(before.upstreams, fromState);
      if (next.hash === before.hash) return { ok: true, version: before.version, message: 'config unchanged' };
      return install(before, next);
    } catch (err) {
      return rejected(before, err);
    }
  };
  const adopt = (row: ConfigVersionRow): ReloadResult => {
    const before = live.config;
    if (row.version === before.version && (row.hash === before.hash || row.hash === lastYaml?.hash)) return { ok: true, version: before.version, message: 'config unchanged' };
    try {
      return install(before, fromRow(row, before.upstreams));
    } catch (err) {
      return rejected(before, err);
    }
  };

  // A state change (admin API, another instance) recompiles the chains and swaps them in.
  tenancy.onChange(() => { reload(true); });
  tenancy.startPolling(options.statePollMs ?? 1000);

  const close = async (): Promise<void> => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await writer.close();
    await Promise.all([...live.config.upstreams.values(), ...retired].map((u) => u.close()));
    counters.close();
    aiRuntime.close();
    await tenancy.close();
    db?.close();
    logger.info({ event: 'gateway_stopped', written: writer.stats.written, dropped: writer.stats.dropped, failed: writer.stats.failed }, `gateway stopped; call log: ${writer.stats.written} written, ${writer.stats.dropped} dropped, ${writer.stats.failed} failed to write`);
  };

  return { server, port: address.port, url: `http://${host}:${address.port}`, writer, tenancy, current: () => live.config, reload, reloadShared, adopt, fileHash: () => lastYaml?.hash ?? null, sharedStore: shared, databaseFile: options.databaseFile, close };
}

function handleRequest(config: CompiledConfig, writer: CallLogWriter, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const now = Date.now();
  const requestId = newRequestId();
  const method = req.method ?? 'GET';
  const peerIp = canonicalIp(req.socket.remoteAddress ?? '0.0.0.0');
  const routing = routeRequest(config, { requestId, method, url: req.url ?? '/', headers: req.headers, peerIp, now, dryRun: false, httpVersion: req.httpVersion });
  const base: Base = { config, writer, req, res, requestId, started, now, method, query: routing.query, peerIp, client: routing.client };
  if (routing.kind === 'refused') {
    refuse(base, null, routing.path, routing.code, routing.evidence, routing.detail, [], 'router', routing.headers);
    return;
  }
  const { route, ctx } = routing;
  res.once('close', route.upstream.hold());
  const run = (): void => {
    const outcome = runChain(route.chain, ctx);
    if (outcome instanceof Promise) {
      outcome.then((o) => afterChain(base, route, ctx, o), (err: unknown) => internalError(config, writer, req, res, err, null));
    } else {
      afterChain(base, route, ctx, outcome);
    }
  };
  // Only routes whose checks read the body (WAF, JSON Schema, a CSRF form field) buffer
  // it, up to the route's limit; every other body streams to the upstream untouched.
  if (route.bodyNeeded && shouldBuffer(req, route.maxBodyBytes) && route.bodyNeeded(req.headers)) {
    continueIfExpected(req, res);
    bufferRequestBody(req, route.maxBodyBytes).then((b) => {
      if (b.kind === 'aborted') return;
      if (b.kind === 'too_large') {
        const evidence = { received_bytes: b.seen, max_body_bytes: route.maxBodyBytes, chunked: req.headers['content-length'] === undefined };
        const detail = `The body exceeds the ${route.maxBodyBytes} bytes this route accepts.`;
        refuse(base, route, ctx.path, 'payload_too_large', evidence, detail, [{ id: 'request-body', phase: 'pre-auth', outcome: 'deny', code: 'payload_too_large', evidence, detail, source: route.source, micros: 0 }], 'request-body', undefined, ctx);
        return;
      }
      ctx.body = b.body;
      run();
    }, (err: unknown) => internalError(config, writer, req, res, err, null));
    return;
  }
  run();
}

interface Base {
  readonly config: CompiledConfig;
  readonly writer: CallLogWriter;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly started: number;
  readonly now: number;
  readonly method: string;
  readonly query: string;
  readonly peerIp: string;
  readonly client: ClientAddress;
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function mustClose(req: IncomingMessage): boolean {
  if (req.readableEnded) return false;
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > BODY_DRAIN_LIMIT;
  return req.headers['transfer-encoding'] !== undefined;
}

function refuse(base: Base, route: CompiledRoute | null, path: string, code: ReasonCode, evidence: Evidence, detail: string, checks: CheckRecord[], deniedBy: string, headers?: Record<string, string>, ctx?: RequestContext): void {
  const gw = base.config.gateway;
  const status = sendProblem(base.res, {
    code, requestId: base.requestId, detail, verbosity: gw.verbosity, typeBase: gw.problemTypeBase,
    check: deniedBy, evidence, headers, rateLimits: ctx?.rateLimits ?? [], closeConnection: mustClose(base.req),
    // The checks before the AI handler refuse in the AI gateway's shape too, so an OpenAI SDK
    // shows any refusal on these routes as a sentence with the reason as err.code.
    openAiError: route?.ai !== undefined,
  });
  if (deniedBy === 'router') checks = [{ id: 'router', phase: 'pre-auth', outcome: 'deny', code, evidence, detail, source: { file: base.config.file, line: 0, path: 'routes' }, micros: 0 }];
  base.writer.write(buildTrace(base, route, path, ctx ?? null, status, code, 'gateway', deniedBy, checks, null));
}

function afterChain(base: Base, route: CompiledRoute, ctx: RequestContext, outcome: ChainOutcome): void {
  const { req, res, config } = base;
  if (outcome.denial) {
    const { verdict, checkId } = outcome.denial;
    refuse(base, route, ctx.path, verdict.code, verdict.evidence, verdict.detail ?? '', outcome.records, checkId, verdict.headers as Record<string, string> | undefined, ctx);
    return;
  }
  if (route.respond) { answerLocally(base, route, ctx, outcome.records, route.respond); return; }
  if (route.ai) { serveAiRoute(base, route, route.ai, ctx, outcome.records); return; }
  const headers = upstreamRequestHeaders(req.headers, route.dropHeaders, route.dropCookies);
  delete headers.host;
  const xff = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${base.peerIp}` : base.peerIp;
  headers['x-forwarded-proto'] = 'http';
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  headers['x-request-id'] = base.requestId;
  const id = ctx.identity;
  if (id) {
    headers['x-credential-id'] = id.credentialId;
    headers['x-authenticated-subject'] = id.subject;
    if (id.consumerId) headers['x-consumer-id'] = id.consumerId;
    if (id.tenantId) headers['x-tenant-id'] = id.tenantId;
    if (id.scopes.size) headers['x-authenticated-scopes'] = joined(id.scopes);
  }
  const path = (route.upstreamPath ? substitute(route.upstreamPath, ctx.params) : ctx.path) + base.query;
  // A buffered body was already invited (and read) before the checks ran.
  if (ctx.body === undefined) continueIfExpected(req, res);
  const responseHeaders: [string, string][] = [['x-request-id', base.requestId], ...rateLimitHeaders(ctx.rateLimits), ...(config.tenancy?.lifecycleHeaders.get(route.id) ?? [])];
  forward({
    upstream: route.upstream, method: ctx.method, path, headers, request: req, hasBody: hasBody(req),
    maxBodyBytes: route.maxBodyBytes, responseHeaders, captureErrorBytes: config.raw.log.captureUpstreamErrorBytes, bufferedBody: ctx.body?.raw,
    dropSetCookies: route.dropCookies,
  }, res, (o: ForwardOutcome) => afterForward(base, route, ctx, outcome.records, o));
}

/** Routes the gateway answers itself (the web login): the answer is logged like any other. */
function answerLocally(base: Base, route: CompiledRoute, ctx: RequestContext, records: CheckRecord[], respond: Responder): void {
  const answer = respond(ctx);
  if (answer.kind === 'deny') {
    const rec: CheckRecord = { id: 'responder', phase: 'authn', outcome: 'deny', code: answer.code, evidence: answer.evidence, ...(answer.detail ? { detail: answer.detail } : {}), source: route.source, micros: 0 };
    refuse(base, route, ctx.path, answer.code, answer.evidence, answer.detail ?? '', [...records, rec], 'responder', undefined, ctx);
    return;
  }
  base.res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)), 'x-request-id': base.requestId });
  base.res.end(answer.body);
  const rec: CheckRecord = { id: 'responder', phase: 'authn', outcome: 'continue', evidence: answer.evidence, micros: 0 };
  base.writer.write(buildTrace(base, route, ctx.path, ctx, answer.status, null, 'gateway', null, [...records, rec], null));
}

function afterForward(base: Base, route: CompiledRoute, ctx: RequestContext, records: CheckRecord[], o: ForwardOutcome): void {
  const upstreamName = route.upstream.name;
  if (o.kind === 'response') {
    // A request that went through keeps its checks' outcomes and timings, and the evidence
    // of how it authenticated, not the rest: the log is the gateway's largest per-request
    // cost. Refusals keep everything.
    const checks = o.status < 400 ? records.map(withoutEvidence) : records;
    base.writer.write(buildTrace(base, route, ctx.path, ctx, o.status, null, 'upstream', null, checks, {
      name: upstreamName, attempts: o.attempts, status: o.status, headersMs: round(o.headersMs), errorSample: o.errorSample, panic: o.panic, aborted: o.aborted,
    }));
    return;
  }
  if (o.kind === 'client_gone') {
    base.writer.write(buildTrace(base, route, ctx.path, ctx, 499, null, 'none', null, records, { name: upstreamName, attempts: o.attempts, status: null, headersMs: null, errorSample: null, panic: false, aborted: 'client closed the connection' }));
    return;
  }
  const gw = base.config.gateway;
  const detail = o.code === 'payload_too_large' ? `The body exceeds the ${route.maxBodyBytes} bytes this route accepts.` : undefined;
  const status = base.res.headersSent ? 0 : sendProblem(base.res, {
    code: o.code, requestId: base.requestId, detail, verbosity: gw.verbosity, typeBase: gw.problemTypeBase,
    check: 'upstream', evidence: o.evidence, rateLimits: ctx.rateLimits, closeConnection: mustClose(base.req),
  });
  const rec: CheckRecord = { id: 'upstream', phase: 'limit', outcome: 'deny', code: o.code, evidence: o.evidence, source: route.source, micros: 0 };
  base.writer.write(buildTrace(base, route, ctx.path, ctx, status, o.code, 'gateway', 'upstream', [...records, rec], {
    name: upstreamName, attempts: o.attempts, status: null, headersMs: null, errorSample: null, panic: o.panic, aborted: null,
  }));
}

/** Routes with `upstream: ai`: the AI gateway answers, and its outcome joins the same trace. */
function serveAiRoute(base: Base, route: CompiledRoute, ai: AiRoute, ctx: RequestContext, records: CheckRecord[]): void {
  const gw = base.config.gateway;
  continueIfExpected(base.req, base.res);
  const responseHeaders: [string, string][] = [['x-request-id', base.requestId], ...rateLimitHeaders(ctx.rateLimits)];
  serveAi(ai, { req: base.req, res: base.res, ctx, requestId: base.requestId, verbosity: gw.verbosity, typeBase: gw.problemTypeBase, responseHeaders }).then((o) => {
    const checks = o.code ? [...records, o.record] : [...records.map(withoutEvidence), o.record];
    base.writer.write({ ...buildTrace(base, route, ctx.path, ctx, o.status, o.code, o.answeredBy, o.code ? o.record.id : null, checks, o.upstream), extra: o.extra });
  }, (err: unknown) => internalError(base.config, base.writer, base.req, base.res, err, null));
}

/** Answers `Expect: 100-continue` once the gateway has decided to read the body. */
function continueIfExpected(req: IncomingMessage, res: ServerResponse): void {
  const expect = req.headers.expect;
  if (expect !== undefined && expect.toLowerCase() === '100-continue') res.writeContinue();
}

function substitute(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\*?\}/g, (_m, name: string) => (params[name] ?? '').split('/').map(encodeURIComponent).join('/'));
}

// A credential's scope and role sets are built once per key (or cached token); their array
// and joined forms are derived once too, not per request.
const lists = new WeakMap<ReadonlySet<string>, readonly string[]>();
const joins = new WeakMap<ReadonlySet<string>, string>();
function listOf(set: ReadonlySet<string>): readonly string[] {
  let l = lists.get(set);
  if (!l) { l = [...set]; lists.set(set, l); }
  return l;
}
function joined(set: ReadonlySet<string>): string {
  let j = joins.get(set);
  if (j === undefined) { j = listOf(set).join(' '); joins.set(set, j); }
  return j;
}

// Kept: authn evidence; the access-policy check's (which policy, id and version, allowed the request);
// a limit decided without the shared limiter (explain must be able to say so); and a detect-only
// WAF finding, the point of detect mode, on a request that went through.
const withoutEvidence = (c: CheckRecord): CheckRecord => (c.evidence && c.phase !== 'authn' && c.id !== 'access-policy' && c.evidence.limiter_unavailable === undefined && c.evidence.would_block !== true ? { id: c.id, phase: c.phase, outcome: c.outcome, micros: c.micros } : c);

const round = (n: number) => Math.round(n * 1000) / 1000;

function buildTrace(base: Base, route: CompiledRoute | null, path: string, ctx: RequestContext | null, status: number, code: ReasonCode | null, answeredBy: TraceRecord['answeredBy'], deniedBy: string | null, checks: readonly CheckRecord[], upstream: TraceRecord['upstream']): TraceRecord {
  const { req, config } = base;
  const id = ctx?.identity ?? null;
  const len = req.headers['content-length'];
  return {
    requestId: base.requestId, ts: base.now, configVersion: config.version, ...(config.tenancy ? { stateVersion: config.tenancy.stateVersion } : {}), routeId: route?.id ?? null,
    method: base.method, path, query: redactQuery(base.query).slice(0, 512), host: req.headers.host ?? null,
    clientIp: base.client.ip, peerIp: base.peerIp, clientIpVia: base.client.via,
    status, code, answeredBy, deniedBy,
    identity: id && { kind: id.kind, credentialId: id.credentialId, consumerId: id.consumerId, tenantId: id.tenantId, subject: id.subject, scopes: listOf(id.scopes), roles: listOf(id.roles) },
    checks,
    request: {
      headers: redactHeaders(req.headers, config.secretHeaders),
      contentLength: len === undefined ? null : Number(len),
      contentType: req.headers['content-type'] ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    },
    upstream,
    durationMs: round(performance.now() - base.started),
  };
}

function internalError(config: CompiledConfig, writer: CallLogWriter, req: IncomingMessage, res: ServerResponse, err: unknown, logger: Logger | null): void {
  const requestId = (res.getHeader('x-request-id') as string | undefined) ?? newRequestId();
  logger?.error({ event: 'internal_error', requestId, err: (err as Error)?.stack ?? String(err) }, 'unhandled error on the request path');
  if (!res.headersSent) {
    sendProblem(res, { code: 'internal_error', requestId, verbosity: config.gateway.verbosity, typeBase: config.gateway.problemTypeBase, closeConnection: true });
  } else {
    res.destroy();
  }
  writer.write({
    requestId, ts: Date.now(), configVersion: config.version, routeId: null, method: req.method ?? '-', path: (req.url ?? '-').split('?')[0]!.slice(0, 200), query: '', host: req.headers.host ?? null,
    clientIp: canonicalIp(req.socket.remoteAddress ?? '0.0.0.0'), peerIp: canonicalIp(req.socket.remoteAddress ?? '0.0.0.0'), clientIpVia: 'peer',
    status: 500, code: 'internal_error', answeredBy: 'gateway', deniedBy: 'gateway', identity: null,
    checks: [], request: { headers: {}, contentLength: null, contentType: null, userAgent: null }, upstream: null, durationMs: 0,
    extra: { error: String((err as Error)?.message ?? err).slice(0, 300) },
  });
}

/**
 * Node refuses to start a server whose headersTimeout exceeds its requestTimeout (a
 * RangeError, not a config message), and a whole request cannot take longer than the
 * request limit anyway: the headers limit is capped by it.
 */
function listenerTimeouts(gw: CompiledConfig['gateway']): { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number } {
  return { requestTimeout: gw.requestTimeoutMs, headersTimeout: Math.min(gw.headersTimeoutMs, gw.requestTimeoutMs), keepAliveTimeout: gw.keepAliveTimeoutMs };
}

function onClientError(config: CompiledConfig, writer: CallLogWriter, err: NodeJS.ErrnoException, socket: Socket, maxHeaderBytes: number): void {
  if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
  const code: ReasonCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'request_header_too_large'
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'request_malformed';
  const requestId = newRequestId();
  const gw = config.gateway;
  const detail = code === 'request_header_too_large' ? `Request headers exceed ${maxHeaderBytes} bytes.` : code === 'request_timeout' ? 'The request was not received completely in time.' : `The request is not valid HTTP (${err.code ?? 'parse error'}).`;
  const answer = socketProblem(code, requestId, detail, gw.verbosity, gw.problemTypeBase);
  socket.end(answer.raw);
  const peer = canonicalIp(socket.remoteAddress ?? '0.0.0.0');
  writer.write({
    requestId, ts: Date.now(), configVersion: config.version, routeId: null, method: '-', path: '-', query: '', host: null,
    clientIp: peer, peerIp: peer, clientIpVia: 'peer', status: answer.status, code, answeredBy: 'gateway', deniedBy: 'http-parser',
    identity: null, checks: [{ id: 'http-parser', phase: 'pre-auth', outcome: 'deny', code, evidence: { error: err.code ?? 'unknown' }, detail, source: { file: '(built-in)', line: 0, path: 'gateway' }, micros: 0 }],
    request: { headers: {}, contentLength: null, contentType: null, userAgent: null }, upstream: null, durationMs: 0,
  });
}

function socketProblem(code: ReasonCode, requestId: string, detail: string, verbosity: Verbosity, typeBase: string): { status: number; raw: string } {
  const { status, body } = renderProblem({ code, requestId, detail, verbosity, typeBase });
  return { status, raw: `HTTP/1.1 ${status} ${reasons[code].title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}` };
}
