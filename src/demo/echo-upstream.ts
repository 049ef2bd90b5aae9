import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo's backend: echoes what it received, so a user can see exactly what the
 * gateway forwarded (and which identity headers it added). It refuses
 * /api/backend-forbidden itself, to show a 403 that is the backend's, not the gateway's.
 */
export function createEchoServer(): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; if (size <= 1024 * 1024) chunks.push(c); });
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); return; }
      if (path === '/api/backend-forbidden') {
        const body = JSON.stringify({ error: 'forbidden', message: 'The orders backend refuses this operation for this account (backend rule R-17).' });
        res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      if ((req.headers['content-type'] ?? '').includes('json')) { try { body = JSON.parse(raw); } catch { body = raw; } }
      const out = JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body: size === 0 ? null : body, bodyBytes: size });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
}

export async function startEchoServer(port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number; url: string }> {
  const server = createEchoServer();
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
  const p = (server.address() as AddressInfo).port;
  return { server, port: p, url: `http://${host}:${p}` };
}
