import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** An answer read off the wire as it came: status, headers, text, and the JSON body when it is one. */
export interface RawAnswer { status: number; headers: IncomingHttpHeaders; text: string; json: Record<string, unknown> }

export function readAnswer(res: IncomingMessage): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
    });
    res.on('error', reject);
  });
}
