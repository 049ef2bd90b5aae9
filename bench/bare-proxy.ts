import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';

// The runtime's floor: a node:http server that streams every request to one upstream
// through an undici Pool (Pool.dispatch, the same call and pool settings Pinpoint uses)
// and streams the answer back. No routing, no checks, no log.
//   node bench/bare-proxy.ts --port N --upstream http://127.0.0.1:M
// Prints one line `listening <port>` on stdout once it accepts connections.

const { values } = parseArgs({ options: {
  port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, upstream: { type: 'string' },
} });
if (!values.upstream) {
  process.stderr.write('bare-proxy: --upstream URL is required\n');
  process.exit(2);
}

// As in src/proxy/upstream.ts, so the comparison is like for like.
const pool = new Pool(new URL(values.upstream).origin, { connections: 64, pipelining: 1, keepAliveTimeout: 4_000, connect: { timeout: 2_000 } });

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

function copyHeaders(incoming: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    if (hopByHop.has(name)) continue;
    const v = incoming[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

const server = createServer((req, res) => {
  const len = req.headers['content-length'];
  const hasBody = (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
  let active: Dispatcher.DispatchController | null = null;
  let gone = false;
  res.once('close', () => {
    if (res.writableFinished) return;
    gone = true;
    active?.abort(new Error('client closed the connection'));
  });
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(controller) {
      active = controller;
      if (gone) controller.abort(new Error('client closed the connection'));
    },
    onResponseStart(_controller, statusCode, headers) {
      res.writeHead(statusCode, copyHeaders(headers));
    },
    onResponseData(controller, chunk) {
      if (!res.write(chunk)) {
        controller.pause();
        res.once('drain', () => controller.resume());
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError(_controller, err) {
      if (gone) return;
      if (res.headersSent) { res.destroy(err); return; }
      const msg = `bad gateway: ${(err as Error).message}\n`;
      res.writeHead(502, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(msg)) });
      res.end(msg);
    },
  };
  pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers: copyHeaders(req.headers), body: hasBody ? req : null, blocking: false }, handler);
});
server.keepAliveTimeout = 5_000;

server.listen(Number(values.port), values.host, () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});

const stop = () => {
  server.close(() => { void pool.close().finally(() => process.exit(0)); });
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
