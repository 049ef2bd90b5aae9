import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { TraceRecord } from '../../src/log/trace.ts';
import type { CheckRecord } from '../../src/pipeline/types.ts';
import type { ReasonCode } from '../../src/reasons/catalogue.ts';
import { findTrace } from '../../src/store/sqlite/call-log-store.ts';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import type { Answer, TestGateway } from './harness.ts';

// Shared by the end-to-end tests of the checks: what every refusal must look like on the
// wire, and how to read what the gateway wrote about a request.

/** A refusal is an RFC 9457 problem+json carrying the reason code and the request id; 401/403/429 add a hint. */
export function assertProblem(a: Answer, status: number, code: ReasonCode): void {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status}: ${a.text}`);
  assert.equal(a.headers.get('content-type'), 'application/problem+json');
  assert.equal(a.json.code, code, `expected code ${code}, got ${a.text}`);
  assert.equal(a.json.status, status);
  assert.equal(a.json.type, `urn:pinpoint:reason:${code}`);
  assert.equal(typeof a.json.title, 'string');
  assert.equal(typeof a.json.detail, 'string');
  const requestId = a.headers.get('x-request-id');
  assert.ok(requestId, 'the refusal carries X-Request-Id');
  assert.equal(a.json.requestId, requestId);
  if (status === 401 || status === 403 || status === 429) assert.equal(typeof a.json.hint, 'string', 'a 401/403/429 tells the caller what to do next');
  else assert.equal(a.json.hint, undefined);
}

/** The trace of one request, once everything written so far has reached the store. */
export async function traceOf(t: TestGateway, a: Answer): Promise<TraceRecord> {
  const requestId = a.headers.get('x-request-id');
  assert.ok(requestId, 'the answer carries X-Request-Id');
  return traceById(t, requestId);
}

/** The trace of a request by its id, once everything written so far has reached the store. */
export async function traceById(t: Pick<TestGateway, 'gateway' | 'databaseFile'>, requestId: string): Promise<TraceRecord> {
  await t.gateway.writer.flush();
  const db = openDatabase(t.databaseFile, { readOnly: true });
  try {
    const trace = findTrace(db, requestId);
    assert.ok(trace, `request ${requestId} is in the call log`);
    return trace;
  } finally {
    db.close();
  }
}

/** The record a given check left in a trace. */
export function checkRecord(trace: TraceRecord, id: string): CheckRecord {
  const rec = trace.checks.find((c) => c.id === id);
  assert.ok(rec, `the trace has a record for check ${id}: ${trace.checks.map((c) => c.id).join(', ')}`);
  return rec;
}

/** Every byte SQLite keeps for the call log: the database file and its write-ahead log. */
export function storeBytes(t: TestGateway): Buffer {
  const base = t.databaseFile.split('/').pop()!;
  const files = readdirSync(t.dataDir).filter((f) => f.startsWith(base));
  return Buffer.concat(files.map((f) => readFileSync(join(t.dataDir, f))));
}

/**
 * A request through node:http with headers exactly as listed (name, value, name, value...):
 * fetch would merge a repeated header into one line before it left the client.
 */
export function rawCall(url: string, path: string, rawHeaders: string[], method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname.replace(/^\[|\]$/g, ''), port, path, method, agent: false, headers: ['host', `${hostname}:${port}`, ...rawHeaders] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        let json: Record<string, unknown> = {};
        try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers, text, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
