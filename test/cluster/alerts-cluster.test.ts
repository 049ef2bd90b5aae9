import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { keys, tenancyConfig, tokens } from '../admin/support.ts';
import { sample } from '../observability/support.ts';
import { call, startUpstream, type TestUpstream } from '../support/harness.ts';
import { startNode, until, type GatewayNode } from '../support/nodes.ts';
import { scratchDatabase } from '../support/postgres.ts';

// Two real gateway processes on one PostgreSQL database, with the same alert rule and a real
// webhook receiver that fails its first delivery: a burst of 403s spread over both nodes is
// notified once (firing, then resolved), by whichever node leads; when the leader is killed
// mid-alert, the other takes over without notifying the still-firing alert again and sends
// its recovery.

const SECRET = 'cluster-test-webhook-secret-0123456789';

interface Delivery { readonly headers: IncomingHttpHeaders; readonly body: string; readonly json: { status: string; rule: string; since: number; matching: number; total: number } }

async function startFlakyHook(): Promise<{ url: string; attempts: Delivery[]; close(): Promise<void> }> {
  const attempts: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      attempts.push({ headers: req.headers, body, json: JSON.parse(body) as Delivery['json'] });
      // The very first attempt fails as a receiver under maintenance would.
      res.writeHead(attempts.length === 1 ? 503 : 204);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, attempts, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** What a receiver does with X-Pinpoint-Signature (docs/observability.md). */
function verify(d: Delivery): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(d.headers['x-pinpoint-signature'] ?? ''));
  if (!m) return false;
  const expected = createHmac('sha256', SECRET).update(`${m[1]}.${d.body}`).digest();
  return Math.abs(Date.now() / 1000 - Number(m[1])) < 300 && timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe('alerts across two gateway nodes on one PostgreSQL', () => {
  const database = scratchDatabase('alerts');
  let upstream: TestUpstream;
  let hook: Awaited<ReturnType<typeof startFlakyHook>>;
  const nodes: GatewayNode[] = [];
  const admin = (n: GatewayNode) => /admin API listening on (http:\/\/[^\s)"]+)/.exec(n.server.output())![1]!;
  const leads = (n: GatewayNode) => /now evaluates the rules/.test(n.server.output());
  /** One notification per delivery id (a retry repeats the id), in the order first attempted. */
  const notifications = () => [...new Map(hook.attempts.map((a) => [String(a.headers['x-pinpoint-delivery']), a.json])).values()];
  const burst = async (among: GatewayNode[], n: number) => {
    for (let i = 0; i < n; i++) assert.equal((await call(`${among[i % among.length]!.url}/shop/items`, { headers: { 'x-api-key': keys.stranger } })).status, 403);
  };

  before(async () => {
    upstream = await startUpstream();
    hook = await startFlakyHook();
    const base = tenancyConfig(upstream.url);
    const config = {
      ...base, gateway: { host: '127.0.0.1', port: 0 }, admin: { ...base.admin, port: 0 },
      log: { flushIntervalMs: 20 },
      alerts: {
        webhook: { url: hook.url, secret: SECRET, retries: 3, backoffMs: 100, timeoutMs: 2000 },
        evaluateIntervalMs: 100,
        rules: [{ id: 'items-403', scope: { routes: ['items'] }, match: { status: [403] }, groupBy: 'route', windowSeconds: 3, rate: 0.5, minRequests: 5 }],
      },
    };
    for (const name of ['node-a', 'node-b']) {
      const n = await startNode(config, ['--store', database.url], { PINPOINT_NODE_NAME: name });
      nodes.push(n);
      await until('the admin listener', async () => /admin API listening on/.test(n.server.output()), 15_000, 10);
    }
  });

  after(async () => {
    await Promise.all(nodes.filter((n) => n.server.child.exitCode === null && n.server.child.signalCode === null).map((n) => n.stop()));
    await upstream?.close();
    await hook?.close();
    await database.drop();
  });

  test('exactly one node evaluates: a burst of 403s on both nodes is notified once, signed, retried after a 503, then resolved once', async () => {
    await until('one node to lead', async () => nodes.some(leads), 10_000, 20);
    await sleep(500);
    assert.equal(nodes.filter(leads).length, 1, 'one leader, not one per node');
    await burst(nodes, 12);
    await until('the firing notification to be delivered', async () => hook.attempts.filter((a) => a.json.status === 'firing').length >= 2, 10_000, 20);
    await until('the resolved notification', async () => notifications().some((n) => n.status === 'resolved'), 15_000, 50);
    await sleep(500);
    const sent = notifications();
    assert.deepEqual(sent.map((n) => [n.rule, n.status]), [['items-403', 'firing'], ['items-403', 'resolved']], JSON.stringify(sent));
    // Every call counted, whichever node served it: the call log is the cluster's.
    assert.ok(sent[0]!.matching > 0 && sent[0]!.matching <= 12 && sent[0]!.total === sent[0]!.matching, JSON.stringify(sent[0]));
    assert.equal(sent[1]!.since, sent[0]!.since, 'the recovery names the episode it ends');
    const firingAttempts = hook.attempts.filter((a) => a.json.status === 'firing');
    assert.equal(firingAttempts.length, 2, 'the 503 was retried once, with the same delivery id');
    assert.ok(hook.attempts.every(verify), 'every attempt carries a valid signature');

    const leader = nodes.find(leads)!, follower = nodes.find((n) => !leads(n))!;
    const metrics = async (n: GatewayNode) => (await call(`${admin(n)}/metrics`, { headers: { authorization: `Bearer ${tokens.operator}` } })).text;
    const lm = await metrics(leader), fm = await metrics(follower);
    assert.equal(sample(lm, 'pinpoint_alert_leader', { node: leader === nodes[0] ? 'node-a' : 'node-b' }), 1);
    assert.equal(sample(fm, 'pinpoint_alert_leader'), 0);
    assert.equal(sample(lm, 'pinpoint_alert_webhook_retries_total'), 1);
    assert.equal(sample(lm, 'pinpoint_alert_webhook_deliveries_total', { outcome: 'delivered' }), 2);
    assert.equal(sample(lm, 'pinpoint_alert_webhook_deliveries_total', { outcome: 'failed' }), 0);
    assert.equal(sample(lm, 'pinpoint_alert_notifications_total', { status: 'firing' }), 1);
    assert.equal(sample(fm, 'pinpoint_alert_notifications_total', { status: 'firing' }), 0, 'the follower sent nothing');
    assert.match(leader.server.output(), /alert webhook attempt 1 for items-403 failed \(answered 503\); retrying/);
    // The follower answers for the cluster: the notifications are in the shared store.
    const view = await call(`${admin(follower)}/v1/alerts`, { headers: { authorization: `Bearer ${tokens.operator}` } });
    assert.deepEqual((view.json.recent as { status: string }[]).map((n) => n.status), ['firing', 'resolved']);
  });

  test('when the leader dies mid-alert the other node takes over: no second firing, and the recovery is sent', async () => {
    const before = notifications().length;
    await burst(nodes, 12);
    await until('the second firing', async () => notifications().length === before + 1, 10_000, 20);
    const leader = nodes.find(leads)!, survivor = nodes.find((n) => n !== leader)!;
    await leader.kill();
    // Traffic keeps the alert above its threshold while the survivor takes the lead.
    const started = Date.now();
    await burst([survivor], 6);
    await until('the survivor to lead', async () => leads(survivor), 10_000, 20);
    const tookOverMs = Date.now() - started;
    await burst([survivor], 4);
    await sleep(300);
    assert.equal(notifications().length, before + 1, `the still-firing alert is not notified again: ${JSON.stringify(notifications().slice(before))}`);
    await until('the recovery from the new leader', async () => notifications().length === before + 2, 15_000, 50);
    await sleep(300);
    const [firing, resolved] = notifications().slice(before);
    assert.deepEqual([firing!.status, resolved!.status], ['firing', 'resolved']);
    assert.equal(resolved!.since, firing!.since);
    assert.equal(notifications().length, before + 2);
    assert.ok(tookOverMs < 10_000);
    process.stdout.write(`# takeover after SIGKILL of the leader: ${tookOverMs} ms (evaluation every 100 ms)\n`);
  });
});
