import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { call, keyEntry, startTestGateway, startUpstream, type Answer, type TestGateway, type TestUpstream } from '../support/harness.ts';
import { assertProblem, checkRecord, traceOf } from '../support/assertions.ts';
import { runCli } from '../support/cli.ts';

const KEY = 'pk_schema_test';
const orderSchema = {
  type: 'object',
  required: ['customer', 'items'],
  additionalProperties: false,
  properties: {
    customer: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' }, name: { type: 'string', maxLength: 40 } } },
    items: { type: 'array', minItems: 1, items: { type: 'object', required: ['sku', 'qty'], properties: { sku: { type: 'string', pattern: '^SKU-\\d+$' }, qty: { type: 'integer', minimum: 1 } } } },
    note: { type: 'string' },
  },
};

let upstream: TestUpstream;
let t: TestGateway;

before(async () => {
  upstream = await startUpstream();
  t = await startTestGateway({
    gateway: { port: 0 },
    upstreams: { up: { targets: [{ url: upstream.url }] } },
    consumers: [{ id: 'c1', keys: [keyEntry(KEY, 'k1')] }],
    routes: [
      { id: 'orders', path: '/orders', methods: ['POST', 'GET'], upstream: 'up', auth: ['apiKey'], bodySchema: orderSchema, maxBodyBytes: 2048, contentTypes: ['application/json'] },
      { id: 'plain', path: '/plain', methods: ['POST'], upstream: 'up', maxBodyBytes: 1_000_000 },
    ],
  });
});

after(async () => {
  await t.close();
  await upstream.close();
});

const postOrder = (body: string) => call(`${t.url}/orders`, { method: 'POST', headers: { 'x-api-key': KEY, 'content-type': 'application/json' }, body });
const valid = { customer: { email: "siobhan.obrien@example.com", name: "Siobhan O'Brien" }, items: [{ sku: 'SKU-1', qty: 2 }] };

async function violations(a: Answer): Promise<readonly string[]> {
  assertProblem(a, 400, 'body_invalid');
  return checkRecord(await traceOf(t, a), 'body-schema').evidence!.violations as readonly string[];
}

describe('JSON Schema validation of request bodies', () => {
  test('a body that matches the schema is forwarded unchanged', async () => {
    const body = JSON.stringify(valid);
    const a = await postOrder(body);
    assert.equal(a.status, 201, a.text);
    assert.equal(upstream.seen.at(-1)!.body, body);
  });

  test('every violation is reported with its JSON path, in the detail and the trace', async () => {
    const a = await postOrder(JSON.stringify({ customer: { email: 'not-an-email', name: 'x'.repeat(50) }, items: [{ sku: 'SKU-1', qty: 1 }, { sku: 'bad', qty: 0 }, { qty: 'two' }], extra: true }));
    const v = await violations(a);
    for (const expected of ['$.extra: is not allowed', '$.customer.email: must match format "email"', '$.customer.name: must NOT have more than 40 characters', '$.items[1].sku: must match pattern', '$.items[1].qty: must be >= 1', '$.items[2].sku: is required', '$.items[2].qty: must be integer']) {
      assert.ok(v.some((x) => x.startsWith(expected)), `${expected} in ${JSON.stringify(v)}`);
    }
    assert.match(a.json.detail as string, /\$\.items\[1\]\.qty: must be >= 1/);
  });

  test('a missing required field is named by its path', async () => {
    assert.deepEqual(await violations(await postOrder(JSON.stringify({ customer: { email: 'a@example.com' } }))), ['$.items: is required']);
  });

  test('a body that is not JSON is 400 body_invalid, not a gateway error', async () => {
    const v = await violations(await postOrder('{"customer": '));
    assert.match(v[0]!, /^\$: not valid JSON/);
  });

  test('a POST without a body is 400 body_invalid', async () => {
    const a = await call(`${t.url}/orders`, { method: 'POST', headers: { 'x-api-key': KEY, 'content-type': 'application/json' } });
    assert.deepEqual(await violations(a), ['$: a JSON body is required']);
  });

  test('GET is not validated', async () => {
    assert.equal((await call(`${t.url}/orders`, { headers: { 'x-api-key': KEY } })).status, 200);
  });

  test('validation runs after authentication: an anonymous caller learns nothing about the schema', async () => {
    const a = await call(`${t.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assertProblem(a, 401, 'credential_missing');
  });

  test('explain lists the violations', async () => {
    const a = await postOrder(JSON.stringify({ customer: { email: 'a@example.com' }, items: [] }));
    assertProblem(a, 400, 'body_invalid');
    await traceOf(t, a);
    const x = runCli(['explain', a.json.requestId as string, '--data-dir', t.dataDir]);
    assert.match(x.stdout, /violates the route's bodySchema at: \$\.items: must NOT have fewer than 1 items/);
  });

  test('an invalid JSON Schema is a config error at load, with its location', async () => {
    await assert.rejects(startTestGateway({
      upstreams: { up: { targets: [{ url: upstream.url }] } },
      routes: [{ id: 'x', path: '/x', methods: ['POST'], upstream: 'up', bodySchema: { type: 'object', properties: { a: { type: 'strnig' } } } }],
    }), /routes\[0\]\.bodySchema: invalid JSON Schema/);
  });
});

/** A chunked request (no Content-Length), written in pieces. */
function chunked(path: string, pieces: readonly string[], headers: Record<string, string>): Promise<Answer> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => {
        let json: Record<string, unknown> = {};
        try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, text, json });
      });
    });
    req.on('error', reject);
    for (const p of pieces) req.write(p);
    req.end();
  });
}

describe('buffering only where a check needs the body', () => {
  test('a chunked body on a validated route is buffered, validated and forwarded with a Content-Length', async () => {
    const body = JSON.stringify(valid);
    const a = await chunked('/orders', [body.slice(0, 10), body.slice(10)], { 'x-api-key': KEY, 'content-type': 'application/json' });
    assert.equal(a.status, 201, a.text);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.body, body);
    assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(seen.headers['transfer-encoding'], undefined);
  });

  test('a chunked body over the route limit is refused with 413 while buffering', async () => {
    const a = await chunked('/orders', ['{"note":"', 'x'.repeat(3000), '"}'], { 'x-api-key': KEY, 'content-type': 'application/json' });
    assertProblem(a, 413, 'payload_too_large');
  });

  test('a route without body checks streams: the upstream gets the chunked encoding as sent', async () => {
    const a = await chunked('/plain', ['hello ', 'world'], { 'content-type': 'text/plain' });
    assert.equal(a.status, 201, a.text);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.body, 'hello world');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
  });
});
