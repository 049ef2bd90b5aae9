import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { AppDirectory, hashClientSecret } from '../../src/identity/apps.ts';
import type { SigningKeyRing } from '../../src/identity/signing-keys.ts';
import { createTokenService } from '../../src/identity/token-service.ts';

// A token request whose signing fails (here: an EC key where RS256 needs RSA, as a broken key
// store would hand over) is answered 400 invalid_request; it used to be an unhandled rejection
// once signing moved after the brute-force verdict, which ends the process.

const TENANT = 'sign-tenant';
let server: Server;
let url = '';
before(async () => {
  const apps = new AppDirectory([{ clientId: 'signer', tenant: TENANT, displayName: 'signer', objectId: 'oid-signer', secretHashes: [hashClientSecret('signer-secret')], assertionKeysPem: [], trustedService: false }], [TENANT]);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = { active: { kid: 'broken', privateKey }, jwks: () => ({ keys: [] }) } as unknown as SigningKeyRing;
  const serve = createTokenService({ apps: () => apps, keys, resources: () => new Set(['https://vault.localhost']), authorityHosts: () => ['127.0.0.1'], tokenLifetimeSeconds: 3600 });
  server = createServer((req, res) => serve(req, res, new URL(req.url ?? '/', 'http://x').pathname));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/${TENANT}/oauth2/v2.0/token`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const request = (secret: string) => fetch(url, {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'https://vault.localhost/.default', client_id: 'signer', client_secret: secret }).toString(),
});

test('a right secret whose token cannot be signed gets 400 invalid_request, and the service keeps answering', async () => {
  const r = await request('signer-secret');
  assert.equal(r.status, 400);
  assert.equal((await r.json() as { error: string }).error, 'invalid_request');
  const wrong = await request('not-the-secret');
  assert.equal(wrong.status, 401, 'the next request is answered as usual');
});
