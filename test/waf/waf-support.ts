import { call, keyEntry, type Answer } from '../support/harness.ts';

export const WAF_KEY = 'pk_waf_test_key';

/** Routes with the WAF in each mode, over one upstream. */
export function wafConfig(upstreamUrl: string, extraRoutes: object[] = []): object {
  const common = { upstream: 'up', auth: ['apiKey'], maxBodyBytes: 65536 };
  return {
    gateway: { port: 0 },
    upstreams: { up: { targets: [{ url: upstreamUrl }] } },
    consumers: [{ id: 'c1', keys: [keyEntry(WAF_KEY, 'k1')] }],
    routes: [
      { id: 'comments', path: '/api/comments', methods: ['GET', 'POST'], ...common, waf: { mode: 'block' } },
      { id: 'comments-detect', path: '/api/detect', methods: ['POST'], ...common, waf: { mode: 'detect' } },
      {
        id: 'snippets', path: '/api/snippets', methods: ['POST'], ...common,
        waf: { mode: 'block', exceptions: [{ rule: 'sqli-004', part: 'body.$.code', reason: 'users post SQL snippets' }, { rule: 'xss-001', part: 'body.$.files[*].content' }] },
      },
      { id: 'strict', path: '/api/strict', methods: ['POST'], ...common, waf: { mode: 'block', paranoia: 2 } },
      { id: 'files', path: '/api/files/{name}', methods: ['GET'], upstream: 'up', waf: { mode: 'block' } },
      ...extraRoutes,
    ],
  };
}

export function post(base: string, path: string, body: string, contentType = 'application/json', headers: Record<string, string> = {}): Promise<Answer> {
  return call(`${base}${path}`, { method: 'POST', headers: { 'x-api-key': WAF_KEY, 'content-type': contentType, ...headers }, body });
}
