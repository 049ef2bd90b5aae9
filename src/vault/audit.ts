import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/** One vault operation, as an auditor reads it. Never the secret value; the name only where policy allowed the call. */
export interface VaultAuditRecord {
  readonly ts: string;
  readonly requestId: string;
  readonly vault: string | null;
  readonly operation: string;
  readonly identity: { readonly appid: string; readonly oid: string; readonly tid: string } | null;
  readonly clientIp: string;
  readonly result: 'success' | 'denied' | 'failed';
  readonly status: number;
  readonly durationMs: number;
  /** The pinpoint reason code of a refusal, or Key Vault's error code of a failed operation. */
  readonly reason: string | null;
  readonly secretName?: string;
  readonly policyVersion: number;
}

/**
 * Appends audit records as JSON lines through a stream: the request thread never waits on
 * the disk, and the stream's own buffering batches the writes.
 */
export class VaultAuditLog {
  private readonly stream: WriteStream;
  written = 0;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  }

  write(record: VaultAuditRecord): void {
    this.stream.write(JSON.stringify(record) + '\n');
    this.written++;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
