import { randomFillSync } from 'node:crypto';

// Request ids are UUIDv7 (RFC 9562): unique across processes and nodes like a v4, but
// time-ordered, so the call log's index grows at its end instead of at random pages.

const pool = Buffer.alloc(10 * 512);
let offset = pool.length;
const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function newRequestId(now: number = Date.now()): string {
  if (offset >= pool.length) { randomFillSync(pool); offset = 0; }
  const r = offset;
  offset += 10;
  const ms = now.toString(16).padStart(12, '0').slice(-12);
  const b0 = pool[r]!, b1 = pool[r + 1]!;
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex[b0]!.slice(1)}${hex[b1]}-${hex[(pool[r + 2]! & 0x3f) | 0x80]}${hex[pool[r + 3]!]}-`
    + `${hex[pool[r + 4]!]}${hex[pool[r + 5]!]}${hex[pool[r + 6]!]}${hex[pool[r + 7]!]}${hex[pool[r + 8]!]}${hex[pool[r + 9]!]}`;
}
