import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';

// The demo's fixed credentials (../shared/DEMO.md is the contract for these values).
export const demoKeys = {
  writer: 'pk_demo_writer',
  reader: 'pk_demo_reader',
  expired: 'pk_demo_expired',
  revoked: 'pk_demo_revoked',
  suspended: 'pk_demo_suspended',
} as const;

export const demoIssuer = { issuer: 'pinpoint-demo-issuer', audience: 'pinpoint-demo' } as const;

/** DEVELOPMENT ONLY: the demo issuer's private key ships with the repo so `pinpoint token` needs no server. */
export function demoIssuerPrivateJwk(): JWK & { kid: string; alg: string } {
  const raw = JSON.parse(readFileSync(new URL('../../demo/demo-issuer-key.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  delete raw['//'];
  return raw as unknown as JWK & { kid: string; alg: string };
}

export function demoIssuerPublicJwk(): JWK {
  const { kty, n, e, kid, alg } = demoIssuerPrivateJwk();
  return { kty, n, e, kid, alg, use: 'sig' };
}
