import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { deliverWebhook, signBody, type WebhookTarget } from '../../src/observability/webhook.ts';

// Webhook delivery against real receivers on loopback: what is retried, what is not, how long
// it waits, and the signature a receiver checks.

interface Receiver { url: string; seen: { headers: IncomingHttpHeaders; body: string }[]; close(): Promise<void> }
const servers: Server[] = [];
after(() => { for (const s of servers) { s.closeAllConnections(); s.close(); } });

/** Answers the statuses in turn (the last one from then on); 0 means: never answer. */
async function receiver(statuses: number[]): Promise<Receiver> {
  const seen: Receiver['seen'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = statuses[Math.min(seen.length, statuses.length) - 1]!;
      if (status === 0) return;
      res.writeHead(status);
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

const target = (url: string, extra: Partial<WebhookTarget> = {}): WebhookTarget => ({ url, timeoutMs: 2000, headers: {}, retries: 3, backoffMs: 20, ...extra });
const body = JSON.stringify({ status: 'firing', rule: 'r' });

describe('webhook delivery', () => {
  test('a receiver failing twice with 5xx gets the same delivery three times, then it counts as delivered', async () => {
    const r = await receiver([503, 502, 204]);
    const waits: number[] = [];
    const result = await deliverWebhook(target(r.url), 'd-1', body, { retrying: (_a, _why, ms) => waits.push(ms) });
    assert.deepEqual(result, { ok: true, attempts: 3, status: 204 });
    assert.deepEqual(waits, [20, 40], 'exponential backoff');
    assert.deepEqual(r.seen.map((s) => [s.headers['x-pinpoint-delivery'], s.body]), [['d-1', body], ['d-1', body], ['d-1', body]]);
  });

  test('a 4xx other than 429 is not retried: the receiver refuses the request itself', async () => {
    const r = await receiver([400]);
    const result = await deliverWebhook(target(r.url), 'd-2', body);
    assert.equal(result.ok, false);
    assert.equal(result.attempts, 1);
    assert.match(!result.ok ? result.reason : '', /answered 400 \(not retried/);
    const limited = await receiver([429, 200]);
    assert.deepEqual(await deliverWebhook(target(limited.url), 'd-3', body), { ok: true, attempts: 2, status: 200 });
  });

  test('a refused connection is retried a bounded number of times, then reported failed', async () => {
    const r = await receiver([204]);
    await r.close();
    const result = await deliverWebhook(target(r.url, { retries: 2 }), 'd-4', body);
    assert.equal(result.ok, false);
    assert.equal(result.attempts, 3);
    assert.match(!result.ok ? result.reason : '', /ECONNREFUSED.*after 3 attempts/);
  });

  test('a receiver that never answers is timed out per attempt', async () => {
    const r = await receiver([0]);
    const t0 = Date.now();
    const result = await deliverWebhook(target(r.url, { timeoutMs: 200, retries: 1 }), 'd-5', body);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /no answer within 200 ms/);
    assert.equal(r.seen.length, 2);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('with a secret every attempt is signed over its timestamp and body; a receiver can verify it', async () => {
    const r = await receiver([500, 204]);
    const secret = 'a-webhook-secret-of-some-length';
    assert.equal((await deliverWebhook(target(r.url, { secret }), 'd-6', body)).ok, true);
    for (const s of r.seen) {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(s.headers['x-pinpoint-signature']));
      assert.ok(m, String(s.headers['x-pinpoint-signature']));
      assert.equal(m[2], createHmac('sha256', secret).update(`${m[1]}.${s.body}`).digest('hex'));
      assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 60);
    }
    assert.equal(signBody(secret, body, 1), `t=1,v1=${createHmac('sha256', secret).update(`1.${body}`).digest('hex')}`);
  });

  test('a secret named by env:// that is not set refuses to send unsigned', async () => {
    const r = await receiver([204]);
    const result = await deliverWebhook(target(r.url, { secret: 'env://PINPOINT_TEST_UNSET_WEBHOOK_SECRET' }), 'd-7', body);
    assert.equal(result.ok, false);
    assert.equal(r.seen.length, 0);
    process.env.PINPOINT_TEST_SET_WEBHOOK_SECRET = 'from-the-environment';
    assert.equal((await deliverWebhook(target(r.url, { secret: 'env://PINPOINT_TEST_SET_WEBHOOK_SECRET' }), 'd-8', body)).ok, true);
    const m = /^t=(\d+),v1=(\w+)$/.exec(String(r.seen[0]!.headers['x-pinpoint-signature']))!;
    assert.equal(m[2], createHmac('sha256', 'from-the-environment').update(`${m[1]}.${body}`).digest('hex'));
  });
});
