import { BenchAbort } from './procs.ts';

// The requests each system must answer right before it is timed: a system that does not
// enforce what it is configured to enforce is reported, never measured.

export interface Answer { status: number; headers: Headers; text: string }

/** Requests sent by the checks, per base URL, so a call log can be compared with what was answered. */
export const callsMade = new Map<string, number>();

export async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const origin = new URL(url).origin;
  callsMade.set(origin, (callsMade.get(origin) ?? 0) + 1);
  try {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      // A pooled connection the server closed while idle (its keep-alive timeout ran out during
      // a slow check): the request never reached it, so it is sent once more on a new one.
      if ((err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw new BenchAbort(`request ${init.method ?? 'GET'} ${url} failed: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
  }
}

/** The status must match; for Pinpoint the problem+json `code` too (peers answer their own bodies). */
export function expectAnswer(what: string, a: Answer, status: number | 'ok', code?: string): void {
  const statusOk = status === 'ok' ? a.status >= 200 && a.status < 300 : a.status === status;
  let gotCode: string | undefined;
  try { gotCode = (JSON.parse(a.text) as { code?: string }).code; } catch { gotCode = undefined; }
  if (!statusOk || (code !== undefined && gotCode !== code)) {
    throw new BenchAbort(`check failed, ${what}: expected ${status === 'ok' ? '2xx' : status}${code ? ` ${code}` : ''}, got ${a.status}${gotCode ? ` ${gotCode}` : ''}: ${a.text.slice(0, 300)}`);
  }
}

export const upstreamBody = JSON.stringify({ ok: true, service: 'bench-upstream', items: [{ id: 1, sku: 'A-1' }, { id: 2, sku: 'B-2' }] });

export function expectUpstreamBody(what: string, a: Answer): void {
  if (a.text !== upstreamBody) throw new BenchAbort(`check failed, ${what}: the body is not the upstream's: ${a.text.slice(0, 300)}`);
}
