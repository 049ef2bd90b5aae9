import type { RouteConfig } from '../config/schema.ts';
import { reasons, type ReasonCode } from '../reasons/catalogue.ts';
import type { Api } from '../tenancy/model.ts';
import type { Policy } from '../tenancy/model.ts';

// The developer portal's content: per published API, what each endpoint needs (methods,
// auth, scopes, roles, limits) and every reason code it can answer, derived from the same
// route config the gateway compiles, so the documentation cannot promise what is not enforced.

export interface EndpointDoc {
  readonly route: string;
  readonly path: string;
  readonly methods: readonly string[];
  readonly auth: readonly string[];
  readonly scopes: Readonly<Record<string, readonly string[]>>;
  readonly roles: Readonly<Record<string, readonly string[]>>;
  readonly ipAllow: readonly string[];
  readonly rateLimit: { limit: number; windowSeconds: number; by: string } | null;
  readonly quota: { limit: number; period: string; by: string } | null;
  readonly ownerOnly: readonly { methods: readonly string[]; param: string }[];
  readonly reasons: readonly ReasonDoc[];
}

export interface ReasonDoc {
  readonly code: ReasonCode;
  readonly status: number;
  readonly title: string;
  readonly hint: string;
  readonly causes: readonly string[];
  readonly fixes: readonly string[];
}

export interface ApiDoc {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly version: string;
  readonly status: Api['status'];
  readonly visibility: Api['visibility'];
  readonly successor: string | null;
  readonly sunset: string | null;
  readonly endpoints: readonly EndpointDoc[];
  /** Who the access policies name, so an app owner knows whom to ask. */
  readonly policies: readonly { id: string; effect: string; subjects: { consumers: readonly string[]; roles: readonly string[] }; methods: readonly string[] }[];
}

const always: ReasonCode[] = ['method_not_allowed', 'request_malformed', 'request_header_too_large', 'request_timeout'];
const apiKeyCodes: ReasonCode[] = ['credential_missing', 'credential_malformed', 'credential_unknown', 'credential_expired', 'credential_not_yet_valid', 'credential_revoked', 'account_suspended'];
const jwtCodes: ReasonCode[] = ['credential_missing', 'credential_malformed', 'credential_expired', 'credential_not_yet_valid', 'token_signature_invalid', 'token_algorithm_rejected', 'token_audience_mismatch', 'token_issuer_untrusted', 'issuer_keys_unavailable', 'account_suspended'];
const tenancyCodes: ReasonCode[] = ['tenant_mismatch', 'subscription_required', 'subscription_pending'];
const upstreamCodes: ReasonCode[] = ['no_healthy_upstream', 'upstream_unavailable', 'upstream_timeout', 'internal_error'];

/** Every code the gateway can answer on this route of this API, in pipeline order. */
export function endpointReasonCodes(route: RouteConfig, api: Api): ReasonCode[] {
  const codes: ReasonCode[] = [...always];
  if (route.maxBodyBytes !== undefined || route.methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH')) codes.push('payload_too_large');
  if (route.contentTypes) codes.push('unsupported_media_type');
  if (route.ipAllow || route.ipDeny) codes.push('ip_not_allowed');
  if (route.auth.includes('apiKey')) codes.push(...apiKeyCodes);
  if (route.auth.includes('jwt')) codes.push(...jwtCodes);
  if (route.auth.length > 0) {
    codes.push(...tenancyCodes);
    if (api.policies === 'enforce') codes.push('no_access_policy', 'permission_denied');
    if (route.scopes) codes.push('insufficient_scope');
    if (route.roles) codes.push('permission_denied');
    if (api.ownership.some((o) => o.routes.includes(route.id))) codes.push('not_resource_owner');
  }
  if (api.status === 'retired') codes.push('api_version_retired');
  if (route.rateLimit) codes.push('rate_limited');
  if (route.quota) codes.push('quota_exhausted');
  if (route.rateLimit || route.quota) codes.push('limiter_unavailable');
  codes.push(...upstreamCodes);
  return [...new Set(codes)];
}

export function reasonDoc(code: ReasonCode): ReasonDoc {
  const r = reasons[code];
  return { code, status: r.status, title: r.title, hint: r.hint, causes: r.causes, fixes: r.fixes };
}

export function apiDoc(api: Api, routes: readonly RouteConfig[], policies: readonly Policy[]): ApiDoc {
  const endpoints = api.routes.flatMap((id) => {
    const route = routes.find((r) => r.id === id);
    if (!route) return [];
    return [{
      route: route.id, path: route.path, methods: route.methods, auth: route.auth,
      scopes: route.scopes ?? {}, roles: route.roles ?? {}, ipAllow: route.ipAllow ?? [],
      rateLimit: route.rateLimit ? { limit: route.rateLimit.limit, windowSeconds: route.rateLimit.windowSeconds, by: route.rateLimit.by } : null,
      quota: route.quota ? { limit: route.quota.limit, period: route.quota.period, by: route.quota.by } : null,
      ownerOnly: api.ownership.filter((o) => o.routes.includes(route.id)).map((o) => ({ methods: o.methods, param: o.param })),
      reasons: endpointReasonCodes(route, api).map(reasonDoc),
    }];
  });
  return {
    id: api.id, tenant: api.tenant, name: api.name ?? api.id, version: api.version, status: api.status, visibility: api.visibility,
    successor: api.successor ?? null, sunset: api.sunset ?? null, endpoints,
    policies: policies.filter((p) => p.api === api.id).map((p) => ({ id: p.id, effect: p.effect, subjects: p.subjects, methods: p.methods })),
  };
}

const problemRef = { $ref: '#/components/schemas/Problem' };

/** An OpenAPI 3.1 document of one API as the gateway serves it. */
export function apiOpenApi(doc: ApiDoc, serverUrl: string | null, apiKeyHeader = 'X-API-Key'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const usesKey = doc.endpoints.some((e) => e.auth.includes('apiKey'));
  const usesJwt = doc.endpoints.some((e) => e.auth.includes('jwt'));
  for (const e of doc.endpoints) {
    const item: Record<string, unknown> = {};
    const params = [...e.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const method of e.methods) {
      const scopes = e.scopes[method] ?? e.scopes['*'] ?? [];
      const roles = e.roles[method] ?? e.roles['*'] ?? [];
      const security = e.auth.map((a) => (a === 'apiKey' ? { apiKey: [] } : { bearerJwt: [...scopes] }));
      const responses: Record<string, unknown> = { '2XX': { description: 'Answered by the upstream service.' } };
      const byStatus = new Map<number, ReasonDoc[]>();
      for (const r of e.reasons) byStatus.set(r.status, [...(byStatus.get(r.status) ?? []), r]);
      for (const [status, rs] of [...byStatus].sort((a, b) => a[0] - b[0])) {
        responses[String(status)] = {
          description: rs.map((r) => `\`${r.code}\`: ${r.title}. ${r.hint}`).join('\n\n'),
          content: { 'application/problem+json': { schema: problemRef } },
        };
      }
      item[method.toLowerCase()] = {
        operationId: `${e.route}.${method.toLowerCase()}`,
        summary: `${method} ${e.path}`,
        ...(params.length ? { parameters: params } : {}),
        ...(security.length ? { security } : { security: [] }),
        'x-pinpoint-scopes': scopes, 'x-pinpoint-roles': roles,
        'x-pinpoint-rate-limit': e.rateLimit, 'x-pinpoint-quota': e.quota,
        'x-pinpoint-owner-only': e.ownerOnly.some((o) => o.methods.includes(method)),
        'x-pinpoint-reasons': e.reasons.map((r) => ({ code: r.code, status: r.status, meaning: r.title, fix: r.hint })),
        responses,
      };
    }
    paths[e.path] = item;
  }
  const securitySchemes: Record<string, unknown> = {};
  if (usesKey) securitySchemes.apiKey = { type: 'apiKey', in: 'header', name: apiKeyHeader };
  if (usesJwt) securitySchemes.bearerJwt = { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' };
  return {
    openapi: '3.1.0',
    info: { title: doc.name, version: doc.version, description: `API ${doc.id} of tenant ${doc.tenant} (${doc.status}). Every refusal is problem+json with a \`code\` from the list on each operation and a request id to quote.` },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes,
      schemas: { Problem: { type: 'object', required: ['type', 'title', 'status', 'code'], properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, code: { type: 'string' }, detail: { type: 'string' }, hint: { type: 'string' }, requestId: { type: 'string' } } } },
    },
  };
}
