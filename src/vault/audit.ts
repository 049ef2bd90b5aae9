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

/** How many records the log keeps in memory for the admin API's "recent audit" view. */
export const RECENT_AUDIT_RECORDS = 500;

/**
 * Appends audit records as JSON lines through a stream: the request thread never waits on
 * the disk, and the stream's own buffering batches the writes. The last records are also
 * kept in a small ring, so the admin API can show them without re-reading a file that may
 * not be flushed yet.
 */
export class VaultAuditLog {
  private readonly stream: WriteStream;
  private readonly ring: (VaultAuditRecord | undefined)[] = new Array<VaultAuditRecord | undefined>(RECENT_AUDIT_RECORDS);
  written = 0;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  }

  write(record: VaultAuditRecord): void {
    this.stream.write(JSON.stringify(record) + '\n');
    this.ring[this.written % RECENT_AUDIT_RECORDS] = record;
    this.written++;
  }

  /** The newest records first (at most RECENT_AUDIT_RECORDS since this process opened the log), optionally of one vault. */
  recent(limit: number, vault?: string): VaultAuditRecord[] {
    const out: VaultAuditRecord[] = [];
    const oldest = Math.max(0, this.written - RECENT_AUDIT_RECORDS);
    for (let i = this.written - 1; i >= oldest && out.length < limit; i--) {
      const r = this.ring[i % RECENT_AUDIT_RECORDS]!;
      if (vault === undefined || r.vault === vault) out.push(r);
    }
    return out;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
