import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

// The web console: plain ES modules and CSS, read once at start (no build step, no disk
// read per request). It calls the admin API with the token the operator signs in with,
// kept in sessionStorage and sent as a Bearer header: no cookie, so no CSRF surface.

const assetsDir = join(import.meta.dirname, 'assets');
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
};

function loadAssets(): ReadonlyMap<string, { type: string; body: Buffer }> {
  const map = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(assetsDir)) {
    const type = types[extname(name)];
    if (type) map.set(name, { type, body: readFileSync(join(assetsDir, name)) });
  }
  return map;
}

const securityHeaders = {
  // Everything is same-origin; inline script and framing are refused outright.
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  // frame-ancestors is CSP level 2; X-Frame-Options stops clickjacking in browsers that predate it.
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export interface ConsoleAssets {
  /** Answers GET / and /console/* ; false when the path is not the console's. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string, requestId: string): boolean;
}

export function consoleAssets(): ConsoleAssets {
  const assets = loadAssets();
  return {
    serve(req, res, pathname, requestId) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const name = pathname === '/' ? 'index.html' : pathname.startsWith('/console/') ? pathname.slice('/console/'.length) : null;
      if (name === null) return false;
      const asset = assets.get(name);
      if (!asset) return false;
      res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'x-request-id': requestId, ...securityHeaders });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    },
  };
}
