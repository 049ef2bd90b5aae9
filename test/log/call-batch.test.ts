import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallBatch } from '../../src/log/call-batch.ts';
import type { TraceRecord } from '../../src/log/trace.ts';
import { parseCallLines, toCallLine } from '../../src/store/sqlite/call-log-store.ts';

const trace = (requestId: string, path = '/p'): TraceRecord => ({
  requestId, ts: 1_700_000_000_000, configVersion: 1, routeId: 'r', method: 'GET', path, query: '', host: null,
  clientIp: '127.0.0.1', peerIp: '127.0.0.1', clientIpVia: 'peer', status: 200, code: null, answeredBy: 'upstream', deniedBy: null,
  identity: null, checks: [], request: { headers: {}, contentLength: null, contentType: null, userAgent: null }, upstream: null, durationMs: 0.3,
});

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test('a batch holds exactly the UTF-8 of the call lines of its records, multi-byte characters included', () => {
  const batch = new CallBatch();
  const records = [trace('a', '/é/🙂/\u2028'), trace('b', 'ctl \u0001\u0002'), trace('c')];
  for (const r of records) assert.equal(batch.append(r), null);
  const taken = batch.take()!;
  assert.equal(taken.count, 3);
  assert.equal(decode(taken.bytes), records.map(toCallLine).join(''));
  assert.equal(taken.bytes.byteLength, taken.bytes.buffer.byteLength, 'the batch owns a buffer of its exact size (it is transferred)');
});

test('a taken batch is a copy: the next records written into the reused buffer do not change it', () => {
  const batch = new CallBatch();
  batch.append(trace('first'));
  const taken = batch.take()!;
  batch.append(trace('second'));
  assert.deepEqual(parseCallLines(decode(taken.bytes)).map((r) => r[0]), ['first']);
  assert.deepEqual(parseCallLines(decode(batch.take()!.bytes)).map((r) => r[0]), ['second']);
});

test('a record that might not fit behind the others closes them into a batch of their own and starts the next', () => {
  const batch = new CallBatch(4096);
  const closed = [];
  for (let i = 0; i < 20; i++) {
    const full = batch.append(trace(`r${i}`));
    if (full) closed.push(full);
  }
  const last = batch.take();
  if (last) closed.push(last);
  assert.ok(closed.length > 1, 'more than one batch');
  assert.ok(closed.every((b) => b.bytes.byteLength <= 4096));
  assert.deepEqual(closed.flatMap((b) => parseCallLines(decode(b.bytes)).map((r) => r[0])), Array.from({ length: 20 }, (_, i) => `r${i}`));
  assert.equal(closed.reduce((n, b) => n + b.count, 0), 20);
});

test('a record larger than the buffer is taken whole, and the batches after it are as before', () => {
  const batch = new CallBatch(1024);
  batch.append(trace('small'));
  const closed = batch.append(trace('big', `/${'x'.repeat(5000)}`));
  assert.deepEqual(parseCallLines(decode(closed!.bytes)).map((r) => r[0]), ['small']);
  const big = batch.take()!;
  assert.equal(parseCallLines(decode(big.bytes))[0]![5], `/${'x'.repeat(5000)}`);
  assert.equal(batch.append(trace('after')), null);
  assert.deepEqual(parseCallLines(decode(batch.take()!.bytes)).map((r) => r[0]), ['after']);
});

test('an empty batch takes nothing', () => {
  const batch = new CallBatch();
  assert.equal(batch.take(), null);
  assert.equal(batch.count, 0);
});
