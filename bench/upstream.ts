import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

// The benchmark's backend: the smallest honest node:http server. Every request gets the
// same small JSON body, so what is measured above it is the proxy, not the backend.
//   node bench/upstream.ts --port N [--host 127.0.0.1]
// Prints one line `listening <port>` on stdout once it accepts connections.

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });

const body = Buffer.from(JSON.stringify({ ok: true, service: 'bench-upstream', items: [{ id: 1, sku: 'A-1' }, { id: 2, sku: 'B-2' }] }));
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = createServer((req, res) => {
  // Never look at the body, but consume it so keep-alive works for POSTs too.
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
// Longer than any client's idle timeout (the proxies' pools keep connections 4 s).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});

const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
