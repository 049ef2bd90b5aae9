import { callColumns, FIELD_BYTE, ROW_BYTE } from '../store/sqlite/call-log-store.ts';
import type { TraceRecord } from './trace.ts';

/** A closed batch: the UTF-8 call lines of `count` records, in a buffer of its own (transferable). */
export interface EncodedBatch {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly count: number;
}

/** Room for a full batch of 512 typical records (~1.5 KB each) with margin. */
const DEFAULT_CAPACITY = 1024 * 1024;

/**
 * The batch being filled on the request thread. Each record is written as UTF-8 straight
 * into one buffer that is reused from batch to batch, instead of a string per record that
 * is later joined and encoded into a new buffer: one copy of the bytes per batch is all that
 * is allocated (the copy is transferred to the log worker, which keeps it).
 */
export class CallBatch {
  private buffer: Buffer;
  private used = 0;
  private records = 0;
  private readonly capacity: number;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.capacity = capacity;
    this.buffer = Buffer.allocUnsafeSlow(capacity);
  }

  get count(): number { return this.records; }

  /**
   * Adds a record. When it might not fit behind the records already here, those are closed
   * into a batch that is returned (to be sent first) and the record starts the next one.
   */
  append(record: TraceRecord): EncodedBatch | null {
    const columns = callColumns(record);
    const trace = JSON.stringify(record);
    // A UTF-16 code unit is at most 3 UTF-8 bytes: the bound avoids measuring every string.
    const worst = 3 * (columns.length + trace.length) + 2;
    let closed: EncodedBatch | null = null;
    if (this.used + worst > this.buffer.length) {
      closed = this.take();
      // A single record larger than the buffer: a larger one for this batch only.
      if (worst > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(worst);
    }
    const b = this.buffer;
    let at = this.used;
    at += b.write(columns, at);
    b[at++] = FIELD_BYTE;
    at += b.write(trace, at);
    b[at++] = ROW_BYTE;
    this.used = at;
    this.records++;
    return closed;
  }

  /** The records so far as a batch of their own (null if none); this one starts empty again. */
  take(): EncodedBatch | null {
    if (this.records === 0) return null;
    const batch = { bytes: new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.used).slice(), count: this.records };
    this.used = 0;
    this.records = 0;
    if (this.buffer.length > this.capacity) this.buffer = Buffer.allocUnsafeSlow(this.capacity);
    return batch;
  }
}
