import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** A signing key as persisted: the private JWK is sealed by the store, never written in clear. */
export interface StoredSigningKey {
  readonly kid: string;
  readonly createdAt: number;
  /** When it stopped signing; it stays published until `retiredAt + overlap`. */
  readonly retiredAt: number | null;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

export interface SigningKeyStore {
  load(): StoredSigningKey[];
  save(key: StoredSigningKey): void;
  remove(kid: string): void;
}

interface LiveKey extends StoredSigningKey {
  readonly privateKey: CryptoKey;
}

export interface RotationPolicy {
  /** A key signs for this long, then a new one takes over. */
  readonly rotateAfterSeconds: number;
  /** A retired key stays in the JWKS this long, so tokens it signed still verify (>= token lifetime). */
  readonly overlapSeconds: number;
}

/**
 * RS256 signing keys with rotation and overlap: one key signs, the retired ones stay in the
 * JWKS until every token they signed has expired, so a rotation never invalidates a live token.
 */
export class SigningKeyRing {
  private keys: LiveKey[] = [];
  private readonly store: SigningKeyStore;
  private readonly policy: RotationPolicy;
  /** Bumped on every change so verifiers can rebuild their key set lazily. */
  generation = 0;

  private constructor(store: SigningKeyStore, policy: RotationPolicy) {
    this.store = store;
    this.policy = policy;
  }

  static async open(store: SigningKeyStore, policy: RotationPolicy, now = Date.now()): Promise<SigningKeyRing> {
    const ring = new SigningKeyRing(store, policy);
    for (const k of store.load()) ring.keys.push({ ...k, privateKey: await importJWK(k.privateJwk, 'RS256') as CryptoKey });
    await ring.maintain(now);
    return ring;
  }

  get active(): LiveKey {
    const k = this.keys.find((x) => x.retiredAt === null);
    if (!k) throw new Error('no active signing key');
    return k;
  }

  /** Retires the active key and starts signing with a new one. */
  async rotate(now = Date.now()): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const kid = randomUUID().replaceAll('-', '');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
    this.keys = this.keys.map((k) => {
      if (k.retiredAt !== null) return k;
      const retired = { ...k, retiredAt: now };
      this.store.save(retired);
      return retired;
    });
    const fresh: LiveKey = { kid, createdAt: now, retiredAt: null, privateJwk, publicJwk, privateKey };
    this.store.save(fresh);
    this.keys.unshift(fresh);
    this.generation++;
    return kid;
  }

  /** Rotates a key that is due and drops retired keys past their overlap. */
  async maintain(now = Date.now()): Promise<void> {
    const active = this.keys.find((k) => k.retiredAt === null);
    if (!active || now - active.createdAt >= this.policy.rotateAfterSeconds * 1000) await this.rotate(now);
    const expired = this.keys.filter((k) => k.retiredAt !== null && now - k.retiredAt >= this.policy.overlapSeconds * 1000);
    for (const k of expired) this.store.remove(k.kid);
    if (expired.length) {
      this.keys = this.keys.filter((k) => !expired.includes(k));
      this.generation++;
    }
  }

  /** The published key set: the signing key and the retired keys still in their overlap. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }
}
