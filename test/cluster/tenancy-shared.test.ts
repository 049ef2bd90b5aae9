import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, startUpstream, type Answer, type TestUpstream } from '../support/harness.ts';
import { runCliAsync, startNode, until, type GatewayNode } from '../support/nodes.ts';
import { scratchDatabase } from '../support/postgres.ts';
import { keys, tenancyConfig, tokens } from '../admin/support.ts';

// Three real gateway processes on one PostgreSQL database, each with its admin API: the
// tenancy state (tenants, consumers, keys, APIs, policies, subscriptions) is shared, so an
// admin change made through any node holds on every node.

// admin.port 0: an OS-assigned port (the default, gateway port + 1, may be taken on a busy host).
const config = (upstreamUrl: string) => {
  const c = tenancyConfig(upstreamUrl);
  return { ...c, gateway: { host: '127.0.0.1', port: 0, verbosity: 'standard' }, admin: { ...c.admin, port: 0 } };
};

interface AdminNode { readonly node: GatewayNode; readonly admin: string }

const adminUrl = (n: GatewayNode): string => /admin API listening on (http:\/\/[^\s)"]+)/.exec(n.server.output())![1]!;
const adm = (url: string, method: string, path: string, token: string, body?: unknown): Promise<Answer> => call(`${url}${path}`, {
  method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const get = (n: AdminNode, path: string, key: string): Promise<Answer> => call(`${n.node.url}${path}`, { headers: { 'x-api-key': key } });

describe('three gateway nodes sharing the tenancy state in PostgreSQL', () => {
  const database = scratchDatabase('tenancy');
  let upstream: TestUpstream;
  let nodes: AdminNode[] = [];
  // Every process started, stopped at the end even when a start fails half-way.
  const started: GatewayNode[] = [];
  const start = async (): Promise<AdminNode> => {
    const node = await startNode(config(upstream.url), ['--store', database.url]);
    started.push(node);
    try {
      await until('the admin listener', async () => /admin API listening on/.test(node.server.output()), 15_000, 10);
    } catch (err) {
      throw new Error(`${(err as Error).message}; node output:\n${node.server.output()}`);
    }
    return { node, admin: adminUrl(node) };
  };

  before(async () => {
    upstream = await startUpstream();
    const first = await start();
    nodes = [first, ...await Promise.all([start(), start()])];
  });

  after(async () => {
    await Promise.all(started.filter((n) => n.server.child.exitCode === null && n.server.child.signalCode === null).map((n) => n.stop()));
    await upstream?.close();
    await database.drop();
  });

  test('every node runs the same state version, seeded once from the file', async () => {
    const versions = await Promise.all(nodes.map(async (n) => (await adm(n.admin, 'GET', '/v1/status', tokens.operator)).json.stateVersion));
    assert.deepEqual(versions, [1, 1, 1], 'one seed, not one per node');
    for (const n of nodes) assert.equal((await get(n, '/shop/items', keys.buyer)).status, 200);
  });

  test('a key revoked through one node\'s admin API is refused by every node within the documented bound', async () => {
    for (const n of nodes) assert.equal((await get(n, '/shop/items', keys.auditorApp)).status, 200);
    const revoked = await adm(nodes[0]!.admin, 'POST', '/v1/keys/key_reports/revoke', tokens.operator, { reason: 'leaked' });
    assert.equal(revoked.status, 200, revoked.text);
    const ackAt = Date.now();
    // The revoking node makes the change live before answering: its very next request is refused.
    const ownAnswer = get(nodes[0]!, '/shop/items', keys.auditorApp);
    const refusedAt = await Promise.all(nodes.slice(1).map((n) => until(`node ${n.node.url} to refuse the revoked key`, async () => {
      const a = await get(n, '/shop/items', keys.auditorApp);
      return a.status === 401 && a.json.code === 'credential_revoked' ? Date.now() : null;
    }, 5000, 2)));
    const own = await ownAnswer;
    assert.deepEqual([own.status, own.json.code], [401, 'credential_revoked']);
    const status = await adm(nodes[0]!.admin, 'GET', '/v1/status', tokens.operator);
    const version = status.json.stateVersion as number;
    const line = new RegExp(`state v${version} adopted from the shared store \\((notify|poll|reconnect), (\\d+) ms after it was committed\\)`);
    await Promise.all(nodes.slice(1).map((n) => until('the adoption log line', async () => line.test(n.node.server.output()), 3000, 10)));
    const adoptions = nodes.slice(1).map((n) => line.exec(n.node.server.output())!);
    const adopted = adoptions.map((m) => Number(m[2]));
    const lags = refusedAt.map((t) => t - ackAt);
    process.stdout.write(`# tenancy propagation: commit -> live on the other nodes ${adopted.join(', ')} ms (node logs, via ${adoptions.map((m) => m[1]).join(', ')}); admin answer -> refused over HTTP by the other nodes ${lags.join(', ')} ms (2 ms polling)\n`);
    for (const m of adoptions) assert.equal(m[1], 'notify', 'carried by NOTIFY, not by the 1 s poll');
    // The documented bound is 1 s (measured: tens to a few hundred ms); as in multinode.test.ts the
    // assertion leaves room for a CPU-starved CI host: adoption < 2 s, HTTP-observed refusal < 3 s.
    for (const lag of adopted) assert.ok(lag < 2000, `adopted ${lag} ms after the commit (all: ${adopted.join(', ')})`);
    for (const lag of lags) assert.ok(lag < 3000, `refused ${lag} ms after the admin answer (all: ${lags.join(', ')})`);
  });

  test('explain from any node sees the state versions: a refusal served by one node is explained by another\'s admin API and by the CLI', async () => {
    const refused = await get(nodes[2]!, '/shop/items', keys.reportsStaging);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.code, 'no_access_policy');
    const id = refused.headers.get('x-request-id')!;
    const explained = await until('the trace in the shared log', async () => {
      const a = await adm(nodes[0]!.admin, 'GET', `/v1/explain/${id}`, tokens.operator);
      return a.status === 200 ? a : null;
    }, 5000, 50);
    const stateVersion = (await adm(nodes[2]!.admin, 'GET', '/v1/status', tokens.operator)).json.stateVersion;
    assert.equal(explained.json.stateVersion, stateVersion);
    assert.match((explained.json.findings as string[]).join('\n'), /acme-reports/, 'names the similar identity that is allowed');
    const logs = await adm(nodes[1]!.admin, 'GET', '/v1/logs?code=no_access_policy', tokens.operator);
    assert.ok((logs.json.items as { requestId: string }[]).some((i) => i.requestId === id), 'the logs of every node are visible from any node');
    const cli = await runCliAsync(['explain', id, '--store', database.url]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /no_access_policy/);
    assert.match(cli.stdout, /acme-reports/);
  });

  test('a node killed (SIGKILL) right after acknowledging an admin change loses nothing: the others and a newcomer enforce it, the audit has it', async () => {
    for (const n of nodes) assert.equal((await get(n, '/shop/items', keys.pending)).json.code, 'subscription_pending');
    const victim = nodes[1]!;
    const approved = await adm(victim.admin, 'POST', '/v1/subscriptions/acme-pending.shop/approve', tokens.acme);
    assert.equal(approved.status, 200, approved.text);
    await victim.node.kill();
    nodes = nodes.filter((n) => n !== victim);
    for (const n of nodes) await until(`node ${n.node.url} to admit the approved subscription`, async () => (await get(n, '/shop/items', keys.pending)).status === 200, 3000, 5);
    const newcomer = await start();
    nodes.push(newcomer);
    assert.equal((await get(newcomer, '/shop/items', keys.pending)).status, 200, 'a node started later runs the acknowledged state');
    const audit = await adm(newcomer.admin, 'GET', '/v1/audit?kind=subscription&id=acme-pending.shop', tokens.auditor);
    const entry = (audit.json.items as { actor: { id: string }; before: { status: string }; after: { status: string } }[])[0]!;
    assert.deepEqual([entry.actor.id, entry.before.status, entry.after.status], ['acme-admin', 'requested', 'approved']);
  });

  test('two admins changing the same policy through different nodes: the stale one gets 409 admin_conflict, nothing is lost', async () => {
    const [a, b] = nodes;
    const patch = (n: AdminNode, methods: string[]) => adm(n!.admin, 'PATCH', '/v1/policies/reports-read', tokens.acme, { methods });
    const results = await Promise.all([patch(a!, ['GET']), patch(b!, ['GET', 'HEAD'])]);
    const statuses = results.map((r) => r.status).sort();
    // Either both landed one after the other (each saw the other's commit), or one lost the race and was told.
    if (statuses[1] === 409) {
      assert.deepEqual(statuses, [200, 409]);
      assert.equal(results.find((r) => r.status === 409)!.json.code, 'admin_conflict');
    } else {
      assert.deepEqual(statuses, [200, 200]);
    }
    // Every node converges on one state version, which holds the winning change(s).
    const versions = await until('every node on the same state version', async () => {
      const vs = await Promise.all(nodes.map(async (n) => (await adm(n.admin, 'GET', '/v1/status', tokens.operator)).json.stateVersion as number));
      return new Set(vs).size === 1 ? vs : null;
    }, 3000, 10);
    assert.equal(versions.length, nodes.length);
    const policies = await Promise.all(nodes.map(async (n) => JSON.stringify(((await adm(n.admin, 'GET', '/v1/policies/reports-read', tokens.operator)).json.item as { data: { methods: unknown } }).data.methods)));
    assert.equal(new Set(policies).size, 1, `every node has the same policy: ${policies.join(' / ')}`);
    assert.ok(policies[0] === '["GET"]' || policies[0] === '["GET","HEAD"]', policies[0]);
  });
});
