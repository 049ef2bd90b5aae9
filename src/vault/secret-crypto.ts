import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

// Envelope encryption: each secret version gets its own random AES-256 data key; the value is
// sealed with it (AES-256-GCM), and the data key is sealed with the master key. The AAD binds
// a ciphertext to its place (vault/name/version), so a row copied elsewhere does not decrypt.
// Layout: 1 byte format | 12 iv + 16 tag + 32 wrapped data key | 12 iv + 16 tag | ciphertext

const FORMAT = 1;
const IV = 12;
const TAG = 16;

function gcmSeal(key: KeyObject, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

function gcmOpen(key: KeyObject, sealed: Buffer, aad: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(sealed.subarray(IV + TAG)), d.final()]);
}

// Keys are handed to the cipher as KeyObjects: with a raw Buffer, Node converts the key on
// every call, which measured ~35 µs per decryption here — most of a get-secret's crypto cost.
export class SecretSealer {
  private readonly masterKey: KeyObject;
  private readonly masterBytes: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
    this.masterBytes = Buffer.from(masterKey);
    this.masterKey = createSecretKey(this.masterBytes);
  }

  /** A short fingerprint stored in the database, so a wrong master key is refused at start. */
  fingerprint(): string {
    return createHash('sha256').update('pinpoint-vault-master-key-check').update(this.masterBytes).digest('hex').slice(0, 16);
  }

  seal(plain: Buffer, context: string): Buffer {
    const aad = Buffer.from(context, 'utf8');
    const dataKey = randomBytes(32);
    const wrapped = gcmSeal(this.masterKey, dataKey, aad);
    const body = gcmSeal(createSecretKey(dataKey), plain, aad);
    dataKey.fill(0);
    return Buffer.concat([Buffer.from([FORMAT]), wrapped, body]);
  }

  open(sealed: Buffer, context: string): Buffer {
    if (sealed[0] !== FORMAT) throw new Error('unknown sealed format');
    const aad = Buffer.from(context, 'utf8');
    const wrappedLen = IV + TAG + 32;
    const dataKey = gcmOpen(this.masterKey, sealed.subarray(1, 1 + wrappedLen), aad);
    try {
      return gcmOpen(createSecretKey(dataKey), sealed.subarray(1 + wrappedLen), aad);
    } finally {
      dataKey.fill(0);
    }
  }
}
