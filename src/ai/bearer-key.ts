import { createApiKeyCheck } from '../checks/api-key.ts';
import type { Directory } from '../credentials/directory.ts';
import type { Authenticator } from '../pipeline/run-chain.ts';
import type { ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

// Every OpenAI SDK sends its key as `Authorization: Bearer <key>`, so on AI routes a Pinpoint
// API key is accepted there too. A bearer value shaped like a JWT (three base64url parts) is
// left to the JWT authenticator; anything else is judged exactly as the API key check would
// judge it in its own header (same index, expiry, revocation and evidence).

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createBearerKeyCheck(options: { realm: string; directory: Directory; source: ConfigLocation }): Authenticator {
  const inner = createApiKeyCheck({ header: 'authorization', realm: options.realm, directory: options.directory, source: options.source });
  return {
    id: 'api-key:bearer',
    phase: 'authn',
    source: options.source,
    challenge: `Bearer realm="${options.realm}"`,
    evaluate(ctx: RequestContext): Verdict {
      const auth = ctx.headers.authorization;
      if (typeof auth !== 'string') return { kind: 'skip', evidence: { authorization: 'absent' } };
      const space = auth.indexOf(' ');
      if (space === -1 || auth.slice(0, space).toLowerCase() !== 'bearer') return { kind: 'skip', evidence: { authorization_scheme: auth.slice(0, Math.max(0, space)).slice(0, 20) } };
      const token = auth.slice(space + 1).trim();
      if (jwtShape.test(token)) return { kind: 'skip', evidence: { bearer: 'jwt-shaped' } };
      const view: RequestContext = { ...ctx, headers: { authorization: token } };
      const verdict = inner.evaluate(view) as Verdict;
      if (view.identity) ctx.identity = view.identity;
      return verdict;
    },
  };
}
