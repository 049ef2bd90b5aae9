// The one catalogue of reasons. A check names a code from here and never invents a
// status or a message inline; `pinpoint reasons`, docs/reasons.md and every problem+json
// body are generated from this object, so an unknown code does not compile.

export type Layer = 'routing' | 'request' | 'network' | 'authn' | 'authz' | 'limit' | 'upstream' | 'gateway';

export interface ReasonSpec {
  readonly status: number;
  readonly layer: Layer;
  readonly title: string;
  /** One sentence the caller may read: what to do next, without policy internals. */
  readonly hint: string;
  /** For the operator: what usually causes it, most likely first. */
  readonly causes: readonly string[];
  /** For the operator: how to fix each cause, in the same order where they pair up. */
  readonly fixes: readonly string[];
}

export const reasons = {
  route_not_found: {
    status: 404, layer: 'routing', title: 'No route matches this path',
    hint: 'Check the path (and host or API version header) against the API documentation.',
    causes: ['typo or wrong base path in the client', 'the API version in the path or header is not published', 'the route was removed in a newer config version'],
    fixes: ['compare the path with the routes in the config (`pinpoint explain` shows the nearest route)', 'publish the version or point the client at a published one', 'check which config version removed it'],
  },
  method_not_allowed: {
    status: 405, layer: 'routing', title: 'The route exists but not for this method',
    hint: 'Use one of the methods listed in the Allow header.',
    causes: ['the client uses the wrong verb (e.g. PUT instead of POST)', 'the route does not declare this method'],
    fixes: ['change the client to a method in Allow', 'add the method to the route if it should be served'],
  },
  request_malformed: {
    status: 400, layer: 'request', title: 'The request could not be parsed safely',
    hint: 'Fix the request line, path encoding or headers; the detail says which part is malformed.',
    causes: ['invalid percent-encoding or an encoded slash in the path', 'a path that climbs above the root with ..', 'malformed HTTP framing'],
    fixes: ['encode the path correctly on the client', 'remove dot-segments from the path', 'check the client library or any proxy in between'],
  },
  request_header_too_large: {
    status: 431, layer: 'request', title: 'Request headers are too large',
    hint: 'Send fewer or smaller headers (cookies and tokens are the usual culprits).',
    causes: ['an oversized cookie jar or token', 'a client that repeats a header'],
    fixes: ['trim cookies or shorten the token', 'raise the header size limit only if the traffic is legitimate'],
  },
  request_timeout: {
    status: 408, layer: 'request', title: 'The request was not received in time',
    hint: 'Send the whole request promptly; slow uploads are cut off.',
    causes: ['a slow or stalled client', 'a slowloris-style attack'],
    fixes: ['check the client network', 'nothing, if it was an attack: the timeout did its job'],
  },
  payload_too_large: {
    status: 413, layer: 'request', title: 'The request body exceeds the route limit',
    hint: 'Send a smaller body or split the upload.',
    causes: ['the body is larger than the route allows', 'a client that sends a file where a reference was expected'],
    fixes: ['reduce the body size', 'raise maxBodyBytes on the route if the size is legitimate'],
  },
  unsupported_media_type: {
    status: 415, layer: 'request', title: 'The body has a content type this route does not accept',
    hint: 'Send the body with one of the accepted Content-Type values.',
    causes: ['a missing or wrong Content-Type header', 'form data sent to a JSON-only route'],
    fixes: ['set Content-Type on the client', 'add the type to the route\'s contentTypes if it should be accepted'],
  },
  ip_not_allowed: {
    status: 403, layer: 'network', title: 'The client address is not allowed on this route',
    hint: 'Call from an allowed network, or ask the API owner to allow your address.',
    causes: ['the client is outside the route\'s allow-list', 'the address is on a deny-list', 'a proxy in front of the gateway is not trusted, so its address was used instead of the client\'s'],
    fixes: ['call from an allowed network or add the CIDR to ipAllow', 'remove the address from ipDeny if it was listed by mistake', 'add the proxy to gateway.trustedProxies so X-Forwarded-For is honoured'],
  },
  credential_missing: {
    status: 401, layer: 'authn', title: 'No credential was sent',
    hint: 'Send an API key or a bearer token as described in the WWW-Authenticate header.',
    causes: ['the client did not attach the key or token', 'the key was sent in a header this route does not read', 'a proxy stripped the Authorization header'],
    fixes: ['attach the credential', 'send the key in the configured header (see WWW-Authenticate)', 'configure the proxy to forward Authorization'],
  },
  credential_malformed: {
    status: 401, layer: 'authn', title: 'The credential is not well formed',
    hint: 'Send the credential exactly as issued, without quotes, spaces or truncation.',
    causes: ['a truncated or quoted key/token', 'a token that is not a compact JWS', 'an oversized token'],
    fixes: ['copy the credential again from its source', 'check how the client builds the Authorization header'],
  },
  credential_unknown: {
    status: 401, layer: 'authn', title: 'The credential is not recognized',
    hint: 'Check that you use a key issued for this environment.',
    causes: ['a key from another environment or tenant', 'a key that was deleted', 'a mistyped key'],
    fixes: ['use the key issued for this gateway', 'issue a new key', 'compare the key prefix with the consumer\'s keys'],
  },
  credential_expired: {
    status: 401, layer: 'authn', title: 'The credential has expired',
    hint: 'Get a new key or token; this one is past its expiry.',
    causes: ['the key or token passed its expiry', 'a rotated key whose overlap window ended', 'clock skew between the issuer and the gateway'],
    fixes: ['issue or fetch a new credential', 'switch the client to the replacement key', 'synchronize clocks (NTP) or raise the allowed skew'],
  },
  credential_not_yet_valid: {
    status: 401, layer: 'authn', title: 'The credential is not valid yet',
    hint: 'Wait until the credential\'s start time, or check your clock.',
    causes: ['the key or token has a not-before in the future', 'the issuer\'s clock is ahead of the gateway\'s'],
    fixes: ['wait, or issue the credential without a future not-before', 'synchronize clocks or raise the allowed skew'],
  },
  credential_revoked: {
    status: 401, layer: 'authn', title: 'The credential was revoked',
    hint: 'This credential was revoked; ask for a new one.',
    causes: ['an operator revoked the key (e.g. after a leak)', 'the key was replaced and its old copy is still deployed'],
    fixes: ['deploy the replacement key', 'issue a new key if the revocation was intended'],
  },
  token_signature_invalid: {
    status: 401, layer: 'authn', title: 'The token signature does not verify',
    hint: 'Get a fresh token from the expected issuer.',
    causes: ['a tampered or hand-edited token', 'signed by a key the gateway does not know (unknown kid, rotated JWKS)', 'a token from another issuer environment'],
    fixes: ['request a new token', 'check the issuer\'s JWKS and the gateway\'s jwks configuration', 'use the issuer configured for this gateway'],
  },
  token_algorithm_rejected: {
    status: 401, layer: 'authn', title: 'The token uses an algorithm that is not allowed',
    hint: 'Use a token signed with an allowed algorithm.',
    causes: ['alg none or an HMAC token sent to an RSA issuer (key confusion attack)', 'the issuer moved to an algorithm not in the allow-list'],
    fixes: ['nothing if it was an attack', 'add the algorithm to the issuer\'s algorithms list'],
  },
  token_audience_mismatch: {
    status: 401, layer: 'authn', title: 'The token was issued for another audience',
    hint: 'Request a token for this API\'s audience.',
    causes: ['the client requested a token for another API (wrong scope/resource)', 'the audience configured on the gateway differs from the issuer\'s'],
    fixes: ['request the token with the right audience/resource', 'align the issuer\'s audiences with the gateway config'],
  },
  token_issuer_untrusted: {
    status: 401, layer: 'authn', title: 'The token comes from an issuer this route does not trust',
    hint: 'Use a token from the issuer this API trusts.',
    causes: ['a token from another tenant or identity provider', 'an issuer URL that differs by a trailing slash or scheme'],
    fixes: ['get a token from the trusted issuer', 'add the issuer (exact string) to the route\'s trusted issuers'],
  },
  issuer_keys_unavailable: {
    status: 503, layer: 'authn', title: 'The token issuer\'s signing keys could not be fetched',
    hint: 'Token verification is temporarily unavailable; retry later.',
    causes: ['the issuer\'s JWKS URL is down or slow', 'a wrong jwksUri in the config'],
    fixes: ['check the identity provider', 'check the issuer\'s jwksUri in the config'],
  },
  account_suspended: {
    status: 403, layer: 'authz', title: 'The account is suspended',
    hint: 'Contact the API owner: the account behind this credential is suspended.',
    causes: ['the consumer or its tenant was suspended (billing, abuse, offboarding)'],
    fixes: ['reactivate the consumer or tenant if the suspension is over'],
  },
  insufficient_scope: {
    status: 403, layer: 'authz', title: 'The credential lacks a required scope',
    hint: 'Use a credential that has the scope named in the detail.',
    causes: ['a read-only key used for a write', 'a token requested without the needed scope', 'the route requires a scope the consumer was never granted'],
    fixes: ['use a key with the scope or grant the scope to the key', 'request the token with the scope', 'check the route\'s scope requirement'],
  },
  permission_denied: {
    status: 403, layer: 'authz', title: 'The identity is not permitted to do this',
    hint: 'Ask the API owner for the role this operation needs.',
    causes: ['the identity lacks the role the route requires for this method'],
    fixes: ['grant the role (in the token\'s roles claim or on the consumer)', 'check that the client uses the identity you expect'],
  },
  tenant_mismatch: {
    status: 403, layer: 'authz', title: 'The credential belongs to another tenant than this API',
    hint: 'Use a credential issued by the tenant that publishes this API.',
    causes: ['a key or app of one tenant used on another tenant\'s API', 'the client is configured for the wrong environment or organisation'],
    fixes: ['use a key of a consumer in the API\'s tenant', 'publish the API with visibility public and subscribe the consumer, if cross-tenant use is intended'],
  },
  subscription_required: {
    status: 403, layer: 'authz', title: 'The application is not subscribed to this API',
    hint: 'Request a subscription to this API for your application.',
    causes: ['the consumer never requested a subscription to the API', 'the subscription was rejected or revoked', 'the token maps to no consumer (unknown client id/subject)'],
    fixes: ['request the subscription (admin API POST /v1/subscriptions) and have the API owner approve it (`pinpoint subscription approve`)', 'ask the API owner why it was rejected or revoked', 'map the token subject to a consumer (jwtSubjects)'],
  },
  subscription_pending: {
    status: 403, layer: 'authz', title: 'The subscription to this API is awaiting approval',
    hint: 'Your subscription request is pending; retry once the API owner approves it.',
    causes: ['the subscription was requested but not approved yet'],
    fixes: ['approve it (admin API POST /v1/subscriptions/{id}/approve or `pinpoint subscription approve`)'],
  },
  no_access_policy: {
    status: 403, layer: 'authz', title: 'No access policy applies to this identity',
    hint: 'This identity has no access to this API; check that you use the intended client id or key.',
    causes: ['the client uses another identity than the one its team set up (a staging key, another app\'s client id)', 'no policy was written for this consumer or its roles'],
    fixes: ['switch the client to the identity the policies grant (`pinpoint explain` names similar allowed identities)', 'add a policy for the consumer or one of its roles'],
  },
  not_resource_owner: {
    status: 403, layer: 'authz', title: 'Only the owner of this resource may do this',
    hint: 'Only the resource\'s owner may modify it; act as its owner.',
    causes: ['the caller is not the owner recorded for the resource', 'the resource has no recorded owner'],
    fixes: ['call as the owning identity', 'transfer or record ownership (resource owners in the admin API) if it is wrong'],
  },
  api_version_retired: {
    status: 410, layer: 'routing', title: 'This API version is retired',
    hint: 'Move to the successor API named in the detail.',
    causes: ['the client still calls an API version its owner retired'],
    fixes: ['move the client to the successor version', 'set the API back to deprecated if callers need more time'],
  },
  admin_unauthenticated: {
    status: 401, layer: 'authn', title: 'The admin API needs a valid admin token',
    hint: 'Send an admin token as Authorization: Bearer <token>.',
    causes: ['no Authorization header on an admin API call', 'a data-plane API key or an unknown token sent to the admin API'],
    fixes: ['send an admin token (admin.tokens in the config)', 'use an admin token, not an API key: the admin API has its own credentials'],
  },
  admin_forbidden: {
    status: 403, layer: 'authz', title: 'This admin role may not do this',
    hint: 'Your admin token does not allow this operation; ask an operator.',
    causes: ['an auditor token used for a change', 'a tenant admin acting on another tenant or on tenants themselves'],
    fixes: ['use an operator or the tenant\'s admin token', 'ask an operator to make the change'],
  },
  admin_invalid_request: {
    status: 400, layer: 'request', title: 'The admin request is not valid',
    hint: 'Fix the fields listed in errors (each with its JSON pointer) and retry.',
    causes: ['a field missing, of the wrong type or out of range', 'a reference to an entity that does not exist', 'a body that is not JSON'],
    fixes: ['correct the field named by the error path', 'create the referenced entity first', 'send Content-Type: application/json with a JSON body'],
  },
  admin_not_found: {
    status: 404, layer: 'routing', title: 'No such admin resource',
    hint: 'Check the id; entities of other tenants are not visible to a tenant admin.',
    causes: ['a typo in the id', 'the entity belongs to another tenant', 'the entity was deleted'],
    fixes: ['list the resources to find the id', 'use an operator token if the entity is another tenant\'s', 'look at the audit trail for its deletion'],
  },
  admin_conflict: {
    status: 409, layer: 'request', title: 'The change conflicts with the current state',
    hint: 'Reload the resource and retry the change.',
    causes: ['the id is already taken', 'another admin changed the entity meanwhile', 'the entity is still referenced (e.g. a tenant with consumers)'],
    fixes: ['choose another id or update the existing entity', 'read it again and reapply the change', 'delete or move the dependants first'],
  },
  admin_auth_throttled: {
    status: 429, layer: 'limit', title: 'Too many failed admin authentications',
    hint: 'Wait for the number of seconds in Retry-After; until then even a right token is refused from this address.',
    causes: ['someone guessing admin tokens from this address', 'a script or console session retrying with a wrong or revoked token', 'many failures from many addresses tripped the global backstop'],
    fixes: ['nothing, if it was an attack: the lock ends by itself; look for the admin_auth_locked log lines and their addresses', 'fix the token in the script and wait for Retry-After', 'find the source of the failures (metric pinpoint_auth_failures_total); raise admin.authThrottle only if the failures are legitimate'],
  },
  admin_cross_site_request: {
    status: 403, layer: 'request', title: 'A cross-site request to the admin API was refused',
    hint: 'Change admin state from the console on the admin listener\'s own origin, or from a non-browser client.',
    causes: ['a page on another origin tried to change admin state (CSRF attempt)', 'the console is served through a proxy whose public origin is not in admin.trustedOrigins'],
    fixes: ['nothing, if it was an attack', 'add the proxy\'s public origin (scheme://host:port) to admin.trustedOrigins'],
  },
  admin_unsupported_media_type: {
    status: 415, layer: 'request', title: 'The admin API accepts JSON bodies only',
    hint: 'Send the body with Content-Type: application/json.',
    causes: ['a body sent without Content-Type or as form data or text/plain (which is also what a cross-site form or simple fetch sends)'],
    fixes: ['set Content-Type: application/json on the client'],
  },
  admin_payload_too_large: {
    status: 413, layer: 'request', title: 'The admin request body is too large',
    hint: 'Admin bodies are limited to 1 MiB; send smaller changes.',
    causes: ['a bulk change sent as one body', 'a client sending the wrong file'],
    fixes: ['split the change into several calls (or use `pinpoint apply`)', 'check what the client sends'],
  },
  rate_limited: {
    status: 429, layer: 'limit', title: 'Too many requests',
    hint: 'Slow down and retry after the number of seconds in Retry-After.',
    causes: ['the client exceeded the route\'s rate limit', 'several clients share one key', 'a retry loop without backoff'],
    fixes: ['honour Retry-After and the RateLimit headers', 'give each client its own key', 'add exponential backoff with jitter'],
  },
  quota_exhausted: {
    status: 429, layer: 'limit', title: 'The quota for this period is used up',
    hint: 'The quota resets at the time given in the detail and Retry-After.',
    causes: ['the consumer used its daily or monthly allowance'],
    fixes: ['wait for the reset, or raise the quota for the consumer'],
  },
  limiter_unavailable: {
    status: 503, layer: 'limit', title: 'The shared rate limiter is unavailable',
    hint: 'Limits cannot be checked right now; retry after the number of seconds in Retry-After.',
    causes: ['the gateway cannot reach Redis (down, restarting, network cut, or slower than the command timeout)', 'the route is configured to fail closed (failMode: closed) while the limiter is unavailable'],
    fixes: ['check Redis and the network between the gateway and it (`redis-cli -u <url> ping`); the gateway reconnects by itself within about a second', 'use failMode: open or local on routes where admitting unchecked traffic is acceptable'],
  },
  // AI gateway (/v1/... in the OpenAI format): the app's own refusals, then the provider's.
  model_not_found: {
    status: 404, layer: 'request', title: 'The model is not served by this gateway',
    hint: 'Use a model listed by GET /v1/models.',
    causes: ['a typo in the model name', 'the model is not declared under ai.models', 'a provider-specific name used instead of the gateway\'s public name'],
    fixes: ['use a name from GET /v1/models', 'declare the model under ai.models with its provider', 'map the provider\'s name to a public one with ai.models.<name>.model'],
  },
  model_not_allowed: {
    status: 403, layer: 'authz', title: 'This app may not use this model',
    hint: 'Use a model your app is allowed to use (GET /v1/models lists them), or ask for access.',
    causes: ['the app (consumer) has no ai.access entry naming the model', 'the app has no ai.access entry at all, and neither has its tenant', 'the request came with another app\'s key'],
    fixes: ['add the model to the consumer\'s ai.access entry', 'add an ai.access entry for the consumer or its tenant', 'check which key the client sends'],
  },
  ai_request_invalid: {
    status: 400, layer: 'request', title: 'The AI request body is not valid',
    hint: 'Send a JSON body in the OpenAI format; the detail names the field at fault.',
    causes: ['a body that is not JSON', 'a missing or mistyped field (model, messages, input)', 'a prompt API called without one of its template variables'],
    fixes: ['send Content-Type: application/json with a JSON object', 'compare the body with the OpenAI API reference', 'send every variable the prompt template uses'],
  },
  provider_rate_limited: {
    status: 429, layer: 'upstream', title: 'The model provider is rate limiting the gateway',
    hint: 'The model provider, not this gateway, refused for rate or quota; retry after Retry-After.',
    causes: ['the provider account hit its requests- or tokens-per-minute limit', 'the provider account ran out of credit or quota', 'no fallback model is configured, or the fallbacks were limited too'],
    fixes: ['spread the load or raise the provider account\'s limits', 'top up or raise the provider account\'s quota', 'add fallbacks to the model under ai.models'],
  },
  provider_auth_failed: {
    status: 502, layer: 'upstream', title: 'The model provider refused the gateway\'s credentials',
    hint: 'The model provider refused this gateway\'s own key; the operator must fix it.',
    causes: ['the provider key in the secret store is wrong, expired or revoked', 'the key lacks access to this model or project', 'the key reference points at the wrong secret'],
    fixes: ['rotate the key in the secret store (the gateway re-reads it after its TTL)', 'grant the key access to the model in the provider console', 'check ai.providers.<name>.apiKey'],
  },
  provider_unavailable: {
    status: 502, layer: 'upstream', title: 'The model provider is unavailable',
    hint: 'The model provider failed or is overloaded; retry later.',
    causes: ['the provider answered 5xx or "overloaded"', 'the provider could not be reached or timed out', 'the provider broke off a stream'],
    fixes: ['check the provider\'s status page; add fallbacks under ai.models', 'check baseUrl and the network path to the provider', 'retry; raise timeoutMs if answers are legitimately slow'],
  },
  provider_bad_request: {
    status: 400, layer: 'upstream', title: 'The model provider rejected the request',
    hint: 'The model provider rejected the request as sent; the detail gives its message.',
    causes: ['the prompt is longer than the model\'s context window', 'a parameter the provider does not support for this model', 'the provider model name (or Azure deployment) does not exist'],
    fixes: ['shorten the prompt or use a model with a larger context', 'remove or change the parameter', 'check ai.models.<name>.model against the provider'],
  },
  provider_credential_unavailable: {
    status: 503, layer: 'upstream', title: 'The gateway could not read the provider credential',
    hint: 'The gateway could not fetch its key for the model provider; retry later.',
    causes: ['the environment variable or vault secret named by the provider\'s apiKey does not exist', 'the vault is unreachable or refuses the gateway'],
    fixes: ['create the secret or set the variable named in ai.providers.<name>.apiKey', 'check the vault and the gateway\'s access policy on it'],
  },
  ai_output_invalid: {
    status: 502, layer: 'upstream', title: 'The model\'s answer does not fit the prompt API\'s format',
    hint: 'The model answered, but not in the format this API promises; retry or report it.',
    causes: ['a prompt with response: json whose model answered with prose', 'the answer was cut by the output cap'],
    fixes: ['tighten the prompt (ask for JSON only, give an example)', 'raise maxTokens on the prompt'],
  },
  no_healthy_upstream: {
    status: 503, layer: 'upstream', title: 'No upstream target is available',
    hint: 'The service behind the gateway is unavailable; retry later.',
    causes: ['every target of the upstream failed its health checks', 'the upstream has no targets configured'],
    fixes: ['check the upstream service and its health endpoint', 'add targets to the upstream'],
  },
  upstream_unavailable: {
    status: 502, layer: 'upstream', title: 'The upstream could not be reached',
    hint: 'The service behind the gateway did not answer; retry later.',
    causes: ['the upstream refused or reset the connection', 'the upstream is down or restarting', 'a wrong upstream address in the config'],
    fixes: ['check that the upstream is running and listening', 'check the target URL in the config', 'look at passive health ejections in the trace'],
  },
  upstream_timeout: {
    status: 504, layer: 'upstream', title: 'The upstream did not answer in time',
    hint: 'The service behind the gateway was too slow; retry later.',
    causes: ['the upstream is overloaded or stuck', 'the route timeout is shorter than the operation needs'],
    fixes: ['look at the upstream\'s latency', 'raise the route\'s timeouts if the operation is legitimately slow'],
  },
  path_ambiguous: {
    status: 400, layer: 'request', title: 'The path could be read in more than one way',
    hint: 'Send the path without double percent-encoding, encoded dots or ;parameters on dot segments.',
    causes: ['double percent-encoding (%252e, %252f) that a backend would decode a second time', 'a dot segment with a ;parameter (..;/) that some servers treat as ..', 'a path-traversal or ACL-bypass attempt'],
    fixes: ['encode the path exactly once on the client', 'remove the ;parameter or the dot segment', 'nothing, if it was an attack: the gateway refused to guess'],
  },
  waf_blocked: {
    status: 403, layer: 'request', title: 'The request was blocked by the web application firewall',
    hint: 'If this request is legitimate, report the rule id and request id from this answer to the API owner.',
    causes: ['an attack payload (SQL injection, XSS, path traversal, command injection, protocol abuse)', 'a false positive: legitimate content that looks like an attack to a rule'],
    fixes: ['nothing, if it was an attack', '`pinpoint explain <request id>` shows the rule and the matched fragment; add a narrow exception for that rule on that route and request part (waf.exceptions: - { rule, part })'],
  },
  body_invalid: {
    status: 400, layer: 'request', title: 'The request body does not match the expected schema',
    hint: 'Fix the body at the JSON paths listed in the detail.',
    causes: ['a missing, extra or mistyped field', 'a body that is not valid JSON', 'the client follows an older or newer version of the API schema'],
    fixes: ['correct the fields named in the detail', 'send valid JSON', 'align the client with the route\'s bodySchema'],
  },
  csrf_token_missing: {
    status: 403, layer: 'authz', title: 'The CSRF token is missing',
    hint: 'Send the CSRF token from the login answer in the X-CSRF-Token header or the csrf_token form field.',
    causes: ['the page or client does not echo the CSRF token', 'a form without the hidden csrf_token field', 'a cross-site request forgery attempt'],
    fixes: ['read the csrf cookie (or the csrfToken from the login answer) and send it as X-CSRF-Token', 'add the hidden csrf_token field to the form', 'nothing, if it was an attack'],
  },
  csrf_token_invalid: {
    status: 403, layer: 'authz', title: 'The CSRF token is not valid for this session',
    hint: 'Reload the page (or log in again) to get a fresh CSRF token.',
    causes: ['a token from another session (e.g. after logging in again in another tab)', 'the token and the CSRF cookie differ', 'the web secret was rotated', 'a forged or tampered token'],
    fixes: ['use the token issued with the current session', 'send the value of the CSRF cookie unchanged', 'log in again after a secret rotation', 'nothing, if it was an attack'],
  },
  csrf_token_expired: {
    status: 403, layer: 'authz', title: 'The CSRF token has expired',
    hint: 'Reload the page to get a fresh CSRF token.',
    causes: ['a page left open longer than the token lifetime'],
    fixes: ['refresh the token periodically or raise web.csrfTtlSeconds'],
  },
  cross_site_request: {
    status: 403, layer: 'authz', title: 'A cross-site request was refused',
    hint: 'State-changing requests must come from the application\'s own pages.',
    causes: ['a page on another origin submitted to this route (CSRF attempt)', 'the application is served from an origin missing from the trusted origins', 'a proxy rewrote the Host header, so the gateway\'s own origin differs from the browser\'s'],
    fixes: ['nothing, if it was an attack', 'add the origin to web.trustedOrigins (or the route\'s csrf.trustedOrigins)', 'forward the original Host, or list the public origin explicitly'],
  },
  vault_no_access_policy: {
    status: 403, layer: 'authz', title: 'The identity has no access policy on this vault',
    hint: 'Ask the vault owner for an access policy for the identity named in the message.',
    causes: ['the client uses another client id (app) than the one the policy was made for', 'the policy was made for an object with the same display name but another object id', 'the policy was never created or was removed'],
    fixes: ['compare the appid/oid in the message with the policies (`pinpoint explain` lists them) and fix the client\'s client id', 'make the policy for the object id in the message', 'add an access policy for the identity'],
  },
  vault_permission_missing: {
    status: 403, layer: 'authz', title: 'The access policy lacks the permission this operation needs',
    hint: 'Ask the vault owner to add the named secret permission to your access policy.',
    causes: ['the policy grants fewer secret permissions than the operation needs (e.g. list but not get)', 'the client uses a read-only app for a write'],
    fixes: ['add the permission named in the message to the identity\'s policy', 'use the app that holds the permission'],
  },
  vault_firewall_denied: {
    status: 403, layer: 'network', title: 'The vault firewall does not allow the client address',
    hint: 'Call the vault from an allowed network, or ask its owner to add your address.',
    causes: ['the vault\'s firewall default action is Deny and the client address matches no IP rule', 'the caller is not a trusted service, so the bypass does not apply', 'a proxy or NAT changes the address the vault sees'],
    fixes: ['add the client\'s address or CIDR to the vault\'s ipRules', 'mark the calling app as a trusted service if it is one (bypass: AzureServices)', 'check which address the vault saw (in the message) and allow that one'],
  },
  vault_throttled: {
    status: 429, layer: 'limit', title: 'The vault throttled this operation class',
    hint: 'Retry after the number of seconds in Retry-After; cache secrets instead of reading them per request.',
    causes: ['the client reads the same secret on every request instead of caching it', 'many clients share one vault', 'a retry loop without backoff'],
    fixes: ['cache secret values in the application and refresh them periodically', 'split the load over several vaults or raise the vault\'s throttle limits', 'honour Retry-After with exponential backoff'],
  },
  internal_error: {
    status: 500, layer: 'gateway', title: 'The gateway failed to handle the request',
    hint: 'This is a gateway bug; report the request id.',
    causes: ['a bug in the gateway'],
    fixes: ['look up the request id in the gateway log and report it'],
  },
} as const satisfies Record<string, ReasonSpec>;

export type ReasonCode = keyof typeof reasons;

export const reasonCodes = Object.keys(reasons) as ReasonCode[];

export function isReasonCode(value: string): value is ReasonCode {
  return Object.hasOwn(reasons, value);
}
