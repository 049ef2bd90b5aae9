import { createHash, timingSafeEqual } from 'node:crypto';

/** An app registration: a confidential client of the token service in one tenant. */
export interface AppRegistration {
  readonly clientId: string;
  readonly tenant: string;
  readonly displayName: string;
  /** The service principal's object id: what access policies name, and the token's `oid`. */
  readonly objectId: string;
  /** sha256 hex digests of the accepted client secrets (several during a secret rotation). */
  readonly secretHashes: readonly string[];
  /** PEM public keys or certificates accepted for signed client assertions. */
  readonly assertionKeysPem: readonly string[];
  /** A "trusted service": passes vault firewalls that allow the trusted-services bypass. */
  readonly trustedService: boolean;
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares digests in constant time so a wrong secret leaks nothing about the right one. */
export function secretMatches(app: AppRegistration, secret: string): boolean {
  const given = Buffer.from(hashClientSecret(secret), 'hex');
  let ok = false;
  for (const h of app.secretHashes) {
    const want = Buffer.from(h, 'hex');
    if (want.length === given.length && timingSafeEqual(want, given)) ok = true;
  }
  return ok;
}

/** Apps indexed by `tenant/clientId` once, at load. */
export class AppDirectory {
  private readonly byKey = new Map<string, AppRegistration>();
  private readonly byObjectId = new Map<string, AppRegistration>();
  private readonly byClientId = new Map<string, AppRegistration[]>();
  readonly tenants: ReadonlySet<string>;

  constructor(apps: readonly AppRegistration[], tenants: readonly string[]) {
    for (const a of apps) {
      this.byKey.set(`${a.tenant}/${a.clientId}`, a);
      this.byObjectId.set(a.objectId, a);
      const same = this.byClientId.get(a.clientId);
      if (same) same.push(a); else this.byClientId.set(a.clientId, [a]);
    }
    this.tenants = new Set(tenants);
  }

  find(tenant: string, clientId: string): AppRegistration | null {
    return this.byKey.get(`${tenant}/${clientId}`) ?? null;
  }

  byObject(objectId: string): AppRegistration | null {
    return this.byObjectId.get(objectId) ?? null;
  }

  /** Every app with this client id, across tenants (a client id is unique only within its tenant). */
  withClientId(clientId: string): readonly AppRegistration[] {
    return this.byClientId.get(clientId) ?? [];
  }

  all(): AppRegistration[] { return [...this.byKey.values()]; }
}
