import { call, keyEntry, type Answer } from '../support/harness.ts';

// Shared by the CSRF and login tests: a config with a login route, a cookie-session route,
// a header-only route and a route that accepts both, over a real upstream.

export const WEB_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const KEY = 'pk_web_test_key';

export function webConfig(upstreamUrl: string, web: Record<string, unknown> = {}, extraRoutes: object[] = []): object {
  return {
    gateway: { port: 0, trustedProxies: ['127.0.0.1/32'] },
    upstreams: { up: { targets: [{ url: upstreamUrl }] } },
    consumers: [{ id: 'c1', keys: [keyEntry(KEY, 'k1')] }],
    web: { secret: WEB_SECRET, users: ['alice', 'bob'], ...web },
    routes: [
      { id: 'login', path: '/web/login', methods: ['POST'], upstream: 'up', session: { mode: 'login' } },
      { id: 'profile', path: '/web/profile', methods: ['GET', 'POST', 'DELETE'], upstream: 'up', session: { mode: 'required' } },
      { id: 'api', path: '/api/things', methods: ['POST'], upstream: 'up', auth: ['apiKey'] },
      { id: 'mixed', path: '/api/mixed', methods: ['POST'], upstream: 'up', auth: ['apiKey'], session: { mode: 'required' } },
      ...extraRoutes,
    ],
  };
}

export interface Session {
  readonly cookieHeader: string;
  readonly token: string;
  readonly setCookies: readonly string[];
  readonly answer: Answer;
}

export async function login(base: string, user = 'alice', headers: Record<string, string> = {}): Promise<Session> {
  const res = await fetch(`${base}/web/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: `user=${user}` });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  const setCookies = res.headers.getSetCookie();
  const cookieHeader = setCookies.map((c) => c.split(';', 1)[0]).join('; ');
  return { cookieHeader, token: String(json.csrfToken ?? ''), setCookies, answer: { status: res.status, headers: res.headers, text, json } };
}

export function postProfile(base: string, s: Session | null, headers: Record<string, string> = {}, body = 'name=Alice', contentType = 'application/x-www-form-urlencoded'): Promise<Answer> {
  return call(`${base}/web/profile`, { method: 'POST', headers: { 'content-type': contentType, ...(s ? { cookie: s.cookieHeader } : {}), ...headers }, body });
}
