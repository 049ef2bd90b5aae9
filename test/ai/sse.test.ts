import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSse } from '../../src/ai/sse.ts';

// The SSE reader against the WHATWG grammar's corners that providers actually produce.

async function all(pieces: string[]): Promise<{ event: string | null; data: string }[]> {
  const out = [];
  for await (const e of readSse((async function* () { for (const p of pieces) yield Buffer.from(p); })())) out.push(e);
  return out;
}

test('events split across reads, with LF, CRLF or CR line ends, comments and multi-line data', async () => {
  const text = 'event: message_start\r\ndata: {"a":1}\r\n\r\n: keep-alive comment\n\ndata: line one\ndata: line two\n\nevent:ping\rdata:{}\r\r';
  for (const size of [1, 2, 3, 7, 1000]) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
    assert.deepEqual(await all(pieces), [
      { event: 'message_start', data: '{"a":1}' },
      { event: null, data: 'line one\nline two' },
      { event: 'ping', data: '{}' },
    ], `read in pieces of ${size}`);
  }
});

test('a multi-byte character split between reads is decoded whole, and a last event without a blank line is kept', async () => {
  const bytes = Buffer.from('data: héllo ✓\n\ndata: tail');
  const out = [];
  for await (const e of readSse((async function* () { for (const b of bytes) yield Uint8Array.of(b); })())) out.push(e);
  assert.deepEqual(out, [{ event: null, data: 'héllo ✓' }, { event: null, data: 'tail' }]);
});
