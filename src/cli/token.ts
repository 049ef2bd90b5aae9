import { importJWK, SignJWT } from 'jose';
import { parseArgs } from 'node:util';
import { demoIssuer, demoIssuerPrivateJwk } from '../demo/demo-keys.ts';
import { UsageError } from './serve.ts';

export const tokenUsage = `pinpoint token --sub SUBJECT [--scope "a b"] [--roles "r1 r2"] [--aud AUD] [--iss ISS] [--ttl SECONDS] [--nbf SECONDS]
  DEVELOPMENT ONLY: mint a JWT signed by the demo issuer (RS256). --ttl < 0 gives an expired token; --nbf delays validity.`;

const seconds = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || !Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number of seconds, got "${v}"`);
  return n;
};

export async function mintDemoToken(opts: { sub: string; scope?: string; roles?: string; aud?: string; iss?: string; ttl?: number; nbf?: number; now?: number }): Promise<string> {
  const jwk = demoIssuerPrivateJwk();
  const key = await importJWK(jwk, 'RS256');
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = {};
  if (opts.scope) claims.scope = opts.scope;
  if (opts.roles) claims.roles = opts.roles.split(' ').filter(Boolean);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
    .setSubject(opts.sub)
    .setIssuer(opts.iss ?? demoIssuer.issuer)
    .setAudience(opts.aud ?? demoIssuer.audience)
    .setIssuedAt(now)
    .setNotBefore(now + (opts.nbf ?? 0))
    .setExpirationTime(now + (opts.ttl ?? 3600))
    .sign(key);
}

/** `--ttl -60` must work as documented; parseArgs would read -60 as an option. */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if ((a === '--ttl' || a === '--nbf') && next !== undefined && /^-\d+$/.test(next)) { out.push(`${a}=${next}`); i++; } else out.push(a);
  }
  return out;
}

export async function tokenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: joinNegativeNumbers(argv), options: {
    sub: { type: 'string' }, scope: { type: 'string' }, roles: { type: 'string' }, aud: { type: 'string' }, iss: { type: 'string' }, ttl: { type: 'string' }, nbf: { type: 'string' },
  } });
  if (!values.sub) throw new UsageError('--sub is required');
  const token = await mintDemoToken({
    sub: values.sub, scope: values.scope, roles: values.roles, aud: values.aud, iss: values.iss,
    ttl: seconds('ttl', values.ttl, 3600), nbf: seconds('nbf', values.nbf, 0),
  } as Parameters<typeof mintDemoToken>[0]);
  process.stdout.write(token + '\n');
  return 0;
}
