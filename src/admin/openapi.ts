import { z } from 'zod';
import type { AdminRoute } from './router.ts';

// The OpenAPI 3.1 document, generated from the same route table and zod schemas that
// route and validate the calls (JSON Schema 2020-12, as OpenAPI 3.1 uses).

const problem = z.object({
  type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(), code: z.string(), requestId: z.string(),
  hint: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const toSchema = (s: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

export function openApiDocument(routes: readonly AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const q of r.query ?? []) params.push({ name: q, in: 'query', required: false, schema: { type: 'string' } } as never);
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{([a-zA-Z]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(params.length ? { parameters: params } : {}),
      ...(r.request ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(r.request, 'input') } } } } : {}),
      responses: {
        [String(r.status)]: { description: 'success', content: { 'application/json': { schema: toSchema(r.response, 'output') } } },
        default: { description: 'a refusal or an error, as RFC 9457 problem+json with the reason code', content: { 'application/problem+json': { schema: toSchema(problem, 'output') } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Pinpoint admin API', version: '1', description: 'Tenants, consumers, keys, APIs, policies, subscriptions, audit, logs, explain and AI usage and cost. Authenticate with an admin token as Authorization: Bearer <token> (never a cookie or the query string). Bodies are application/json (else 415) up to 1 MiB (else 413); a browser may change state only from this listener\'s own origin (else 403 admin_cross_site_request); repeated wrong tokens lock the client address (429 admin_auth_throttled with Retry-After).' },
    components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
    security: [{ adminToken: [] }],
    paths,
  };
}
