import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import gateway from 'fast-gateway';

// Benchmark peer: fast-gateway (npm, a devDependency) in front of the shared bench upstream,
// with an onRequest hook doing what the other peers do: API key (the writer key and the keys
// of --keys FILE, one a line: no key or any other key -> 401), IP allow-list 127.0.0.0/8
// (-> 403) and a per-key fixed-window request counter (limit never reached, -> 429). No log.
//   node bench/fast-gateway.ts --port N --port6 M --upstream http://127.0.0.1:K [--keys FILE]
// Listens on 127.0.0.1:N and, only for the IP check, on [::1]:M (::1 is outside
// 127.0.0.0/8, so every request through it must be refused). Prints `listening <port>`.

const { values } = parseArgs({ options: {
  port: { type: 'string', default: '0' }, port6: { type: 'string' }, upstream: { type: 'string' }, keys: { type: 'string' },
} });
if (!values.upstream) {
  process.stderr.write('fast-gateway: --upstream URL is required\n');
  process.exit(2);
}

const keys = new Set(['pk_bench_writer']);
if (values.keys) for (const k of readFileSync(values.keys, 'utf8').split('\n')) if (k) keys.add(k);

// Per key, 1 s fixed windows; the limit is far above anything the bench reaches.
const LIMIT_PER_SECOND = 10_000_000;
const windows = new Map<string, { start: number; count: number }>();
function overLimit(key: string, now: number): boolean {
  let w = windows.get(key);
  if (!w || now - w.start >= 1000) { w = { start: now, count: 0 }; windows.set(key, w); }
  return ++w.count > LIMIT_PER_SECOND;
}

function refuse(res: ServerResponse, status: number, code: string): true {
  const body = JSON.stringify({ code });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
  return true;
}

/** 127.0.0.0/8, also as an IPv4-mapped IPv6 address. */
function inLoopback8(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') && v4.split('.').length === 4;
}

const app = gateway({
  routes: [{
    prefix: '/api/orders',
    pathRegex: '',
    prefixRewrite: '/api/orders',
    target: new URL(values.upstream).origin,
    methods: ['GET', 'POST'],
    hooks: {
      // true stops the request here (fast-gateway does not proxy it).
      onRequest(req: IncomingMessage, res: ServerResponse): boolean {
        const key = req.headers['x-api-key'];
        if (typeof key !== 'string' || !keys.has(key)) return refuse(res, 401, 'credential_unknown');
        if (!inLoopback8(req.socket.remoteAddress)) return refuse(res, 403, 'ip_not_allowed');
        if (overLimit(key, Date.now())) return refuse(res, 429, 'rate_limited');
        return false;
      },
    },
  }],
});

// restana (fast-gateway's server) has callback() at runtime; its typings omit it.
const handler = (app as unknown as { callback(): RequestListener }).callback();
const servers = [createServer(handler)];
servers[0]!.keepAliveTimeout = 5_000;
servers[0]!.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`listening ${(servers[0]!.address() as AddressInfo).port}\n`);
});
if (values.port6) {
  const s6 = createServer(handler);
  s6.listen(Number(values.port6), '::1');
  servers.push(s6);
}

const stop = () => {
  let open = servers.length;
  for (const s of servers) {
    s.close(() => { if (--open === 0) process.exit(0); });
    s.closeAllConnections();
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
