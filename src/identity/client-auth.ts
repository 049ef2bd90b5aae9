import { decodeJwt, importSPKI, importX509, jwtVerify, type CryptoKey } from 'jose';
import { secretMatches, type AppDirectory, type AppRegistration } from './apps.ts';
import { oauthError, type OAuthError } from './oauth-errors.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Authenticates the client of a token request: a client secret, or a JWT assertion signed
 * with a key registered on the app (RFC 7523), whose audience must be the token endpoint.
 */
export async function authenticateClient(apps: AppDirectory, tenant: string, form: URLSearchParams, tokenEndpoint: string): Promise<AppRegistration | OAuthError> {
  const assertion = form.get('client_assertion');
  let clientId = form.get('client_id');
  if (!clientId && assertion) clientId = subjectOf(assertion);
  if (!clientId) return oauthError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
  const app = apps.find(tenant, clientId);
  if (!app) return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
  const secret = form.get('client_secret');
  if (assertion) {
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) return oauthError(400, 'invalid_request', 700023, `client_assertion_type must be '${ASSERTION_TYPE}'.`);
    for (const pem of app.assertionKeysPem) {
      const key = await importAssertionKey(pem);
      if (!key) continue;
      try {
        const { payload } = await jwtVerify(assertion, key, { audience: tokenEndpoint, subject: app.clientId, issuer: app.clientId, clockTolerance: 60 });
        if (payload.exp === undefined) return oauthError(401, 'invalid_client', 700024, 'Client assertion has no expiry.');
        return app;
      } catch { /* try the next registered key */ }
    }
    return oauthError(401, 'invalid_client', 700027, `Client assertion failed signature validation, or its audience is not ${tokenEndpoint}, or it is expired.`);
  }
  if (secret === null) return oauthError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  if (!secretMatches(app, secret)) return oauthError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
  return app;
}

function subjectOf(jwt: string): string | null {
  try {
    const { sub } = decodeJwt(jwt);
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

async function importAssertionKey(pem: string): Promise<CryptoKey | null> {
  try {
    return pem.includes('BEGIN CERTIFICATE') ? await importX509(pem, 'RS256') : await importSPKI(pem, 'RS256');
  } catch {
    return null;
  }
}
