import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { demoConfigYaml } from '../demo/demo-config.ts';
import { startEchoServer } from '../demo/echo-upstream.ts';
import { startAdminIfConfigured } from '../admin/start.ts';
import { createLogger } from '../server/logger.ts';
import { listenOrExplain, openNodeOrExplain, portOption, runUntilSignalled, startOrExplain, storeOption, workersOption } from './serve.ts';
import { resetShared } from '../cluster/node-resources.ts';
import { isWorkerProcess, runWorkers, workerNumber } from '../cluster/workers.ts';
import { describeLocation } from '../store/store.ts';
import { VaultSecretSource } from '../vault/secret-source.ts';
import { VaultAttachment } from '../vault/vault-attachment.ts';

export const demoUsage = `pinpoint demo [--port N] [--data-dir DIR] [--reset] [--admin-port N] [--echo-port N] [--vault-port N] [--store postgresql://HOST/DB] [--redis redis://HOST:PORT] [--workers N]
  The 403 playground: the gateway on PORT (8080), its admin API on PORT+1, its echo upstream on PORT+2, the vault (HTTPS) on PORT+443
  (PORT from --port or the PORT variable; --admin-port, --echo-port, --vault-port move one listener).
  With --store/--redis several demo nodes (different --port) share one state; --reset resets it.`;

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    port: { type: 'string' }, 'data-dir': { type: 'string' }, reset: { type: 'boolean', default: false }, 'echo-port': { type: 'string' }, 'vault-port': { type: 'string' }, 'admin-port': { type: 'string' },
    store: { type: 'string' }, redis: { type: 'string' }, workers: { type: 'string' },
  } });
  const port = portOption(values.port ?? process.env.PORT) ?? 8080;
  const echoPort = portOption(values['echo-port']) ?? (port === 0 ? 0 : port + 2);
  const dataDir = resolve(values['data-dir'] ?? './.pinpoint-demo');
  const configFile = join(dataDir, 'pinpoint.yaml');
  const logger = createLogger();
  const workers = workersOption(values.workers);
  storeOption(values.store, dataDir);
  const shared = { store: values.store, redis: values.redis, dataDir, logger, workers };
  // One-time preparation belongs to the first process, never to each worker.
  if (!isWorkerProcess()) {
    if (values.reset && existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
    if (values.reset && (values.store || values.redis)) {
      try {
        for (const what of await resetShared(shared)) logger.info({ event: 'reset' }, `reset: ${what}`);
      } catch (err) {
        process.stderr.write(`pinpoint demo: --reset could not reach the shared state: ${(err as Error).message}\n`);
        return 1;
      }
    }
    if (!existsSync(configFile)) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(configFile, demoConfigYaml(Date.now()));
    }
    if (workers > 1) {
      // Made once here: N workers creating the demo CA and the vault master key at the same
      // moment would each write their own.
      const { ensureDemoTls, VAULT_TLS_NAMES } = await import('../tls/demo-ca.ts');
      const { loadMasterKey } = await import('../vault/master-key.ts');
      await ensureDemoTls(join(dataDir, 'tls'), VAULT_TLS_NAMES);
      loadMasterKey({ file: join(dataDir, 'vault-master.key'), createIfMissing: true });
    }
  }
  if (workers > 1 && !isWorkerProcess()) return runWorkers(workers, logger);
  // Without --reset a node joins the config version the shared store already runs.
  const node = await openNodeOrExplain(shared, { join: true });
  if (!node) return 1;
  const echo = await listenOrExplain('echo upstream', echoPort, 'move the demo with --port N (or only this listener with --echo-port N)', () => startEchoServer(echoPort));
  if (echo === 'failed') { await node.close(); return 1; }
  process.env.PINPOINT_DEMO_ECHO_URL = echo.url;
  // vault:// provider keys are read from the demo vault as demo-readonly (secrets get, list on vault demo).
  const vaultSource = new VaultSecretSource('demo-readonly');
  const gateway = await startOrExplain(logger, {
    aiSecretSources: [vaultSource],
    configFile, databaseFile: node.location.kind === 'sqlite' ? node.location.file : join(dataDir, 'pinpoint.db'), port,
    store: node.store, stateStore: node.stateStore, counters: node.counters, initialConfig: node.initialConfig,
  });
  if (!gateway) { echo.server.close(); node.counters?.close(); await node.close(); return 1; }
  node.attach(gateway);
  const vaultPort = portOption(values['vault-port']) ?? (port === 0 ? 0 : port + 443);
  // Loaded on demand: the vault brings the X.509 library, which other verbs should not pay for at startup.
  const { startDemoVault } = await import('../demo/demo-vault.ts');
  const demoVault = await listenOrExplain('vault', vaultPort, 'move the demo with --port N (or only this listener with --vault-port N)',
    () => startDemoVault({ dataDir, port: vaultPort, callLog: gateway.writer, configVersion: () => gateway.current().version, logger, sharedAuthFailures: node.authFailures }));
  if (demoVault === 'failed') { echo.server.close(); await gateway.close(); await node.close(); return 1; }
  const vaultReader = { settings: demoVault.vault.current, store: demoVault.vault.store, audit: demoVault.vault.audit };
  vaultSource.attach(vaultReader);
  // The admin API's read-only vault pages (GET /v1/vaults) read the same settings, store and audit.
  const vaults = new VaultAttachment();
  vaults.attach(vaultReader);
  const adminPort = portOption(values['admin-port']) ?? (port === 0 ? 0 : port + 1);
  const admin = await listenOrExplain('admin API', adminPort, 'move the demo with --port N (or only this listener with --admin-port N)',
    () => startAdminIfConfigured(gateway, logger, join(dataDir, 'pinpoint.db'), adminPort, vaults, node.authFailures));
  if (admin === 'failed') { echo.server.close(); await demoVault.vault.close(); await gateway.close(); await node.close(); return 1; }
  const v = demoVault.vault.url;
  const g = gateway.url;
  if (workerNumber() <= 1) process.stdout.write([
    '',
    `Pinpoint demo — the 403 playground`,
    `  gateway        ${g}`,
    `  echo upstream  ${echo.url}`,
    ...(admin ? [`  admin API      ${admin.url}   (Authorization: Bearer adm_demo_operator | adm_demo_acme | adm_demo_auditor; ${admin.url}/openapi.json)`] : []),
    `  vault (HTTPS)  ${v}  (vault demo; https://locked.vault.localhost:${demoVault.vault.port} is vault locked)`,
    `  token service  ${v}/demo-tenant/oauth2/v2.0/token  (apps demo-app, demo-readonly, demo-nopolicy)`,
    `  demo CA        ${demoVault.caFile}  (trust it: NODE_EXTRA_CA_CERTS=${demoVault.caFile} or curl --cacert)`,
    `  config         ${configFile} (edit it: the gateway reloads it)`,
    `  data           ${dataDir}${values.reset ? '  (--reset: recreated from the demo config)' : ''}`,
    ...(values.store ? [`  shared store   ${describeLocation(node.location)}`] : []),
    ...(values.redis ? [`  counters       Redis ${values.redis} (limits hold across every node)`] : []),
    ...(workers > 1 ? [`  workers        ${workers} processes on one listener`] : []),
    '',
    'Try:',
    `  curl -i -X POST ${g}/api/orders -H 'X-API-Key: pk_demo_writer' -H 'Content-Type: application/json' -d '{"item":"book"}'`,
    `  curl -i -X POST ${g}/api/orders -H 'X-API-Key: pk_demo_reader' -H 'Content-Type: application/json' -d '{"item":"book"}'`,
    `  curl -s ${g}/v1/chat/completions -H 'Authorization: Bearer pk_demo_writer' -H 'Content-Type: application/json' -d '{"model":"demo-echo","messages":[{"role":"user","content":"Hello from Pinpoint"}]}'`,
    `  npx pinpoint explain <X-Request-Id of the 403>${values.store ? ` --store ${values.store}` : values['data-dir'] ? ` --data-dir ${dataDir}` : ''}`,
    `  curl -i -X POST ${g}/api/comments -H 'X-API-Key: pk_demo_writer' -H 'Content-Type: application/json' -d '{"comment":"x\\u0027 OR 1=1 --"}'`,
    `  curl -i -c jar -X POST ${g}/web/login -d user=alice && curl -i -b jar -X POST ${g}/web/profile -d name=Alice`,
    `  TOKEN=$(curl -s --cacert ${demoVault.caFile} ${v}/demo-tenant/oauth2/v2.0/token -d grant_type=client_credentials -d client_id=demo-app -d client_secret=demo-app-secret -d scope=https://vault.localhost/.default | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
    `  curl -s --cacert ${demoVault.caFile} "${v}/secrets/greeting?api-version=7.5" -H "Authorization: Bearer $TOKEN"`,
    '',
  ].join('\n') + '\n');
  runUntilSignalled(gateway, logger, configFile, async () => {
    await Promise.all([admin?.close(), new Promise<void>((r) => echo.server.close(() => r())), demoVault.vault.close()]);
    await node.close();
  });
  return 0;
}
