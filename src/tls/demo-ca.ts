import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;

export interface TlsMaterial {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caFile: string;
}

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

const toPem = async (key: Key): Promise<string> =>
  x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key ), 'PRIVATE KEY');

const serial = (): string => Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex').replace(/^[89a-f]/, '1');

/** A development CA: trusted by clients through NODE_EXTRA_CA_CERTS or their `ca` option, never by the OS. */
export async function createCa(commonName: string): Promise<{ cert: x509.X509Certificate; keys: KeyPair; pem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as KeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=${commonName}, O=Pinpoint (development only)`, notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY),
    keys, signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, pem: cert.toString('pem'), keyPem: await toPem(keys.privateKey) };
}

/** A server certificate for `names` (DNS names, wildcards or IP addresses), signed by the CA. */
export async function issueServerCert(ca: { cert: x509.X509Certificate; keys: KeyPair }, names: readonly string[]): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as KeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${names[0] ?? 'localhost'}`, issuer: ca.cert.subject,
    notBefore: new Date(now - DAY), notAfter: new Date(now + 825 * DAY),
    signingKey: ca.keys.privateKey, publicKey: keys.publicKey, signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await toPem(keys.privateKey) };
}

/** The names the vault's certificate covers: the default vault's addresses and every <name>.vault.localhost. */
export const VAULT_TLS_NAMES: readonly string[] = ['127.0.0.1', 'localhost', '*.vault.localhost', 'vault.localhost'];

/**
 * The demo's TLS material in `<dir>`: the CA is created once and kept (so clients that trust
 * ca.pem keep working across restarts); the server certificate is reissued when its names change.
 */
export async function ensureDemoTls(dir: string, names: readonly string[]): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server-key.pem');
  const namesFile = join(dir, 'server-names.txt');
  let ca: { cert: x509.X509Certificate; keys: KeyPair; pem: string };
  if (existsSync(caFile) && existsSync(caKeyFile)) {
    const pem = readFileSync(caFile, 'utf8');
    const cert = new x509.X509Certificate(pem);
    const der = x509.PemConverter.decodeFirst(readFileSync(caKeyFile, 'utf8'));
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, alg, true, ['sign']) as Key;
    ca = { cert, pem, keys: { privateKey, publicKey: await cert.publicKey.export(alg, ['verify']) } };
  } else {
    const created = await createCa('Pinpoint demo CA');
    writeFileSync(caKeyFile, created.keyPem, { mode: 0o600 });
    writeFileSync(caFile, created.pem);
    ca = created;
  }
  const wanted = names.join(',');
  if (!existsSync(certFile) || !existsSync(keyFile) || !existsSync(namesFile) || readFileSync(namesFile, 'utf8') !== wanted) {
    const issued = await issueServerCert(ca, names);
    writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
    writeFileSync(certFile, issued.certPem);
    writeFileSync(namesFile, wanted);
  }
  return { caPem: ca.pem, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), caFile };
}
