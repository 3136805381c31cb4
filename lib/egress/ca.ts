import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { x509 } from './x509.js';
import { INTERCEPTED_HOSTS } from './hosts.js';
import { EXCLUDE_ALL_ADDRESSES, P256, algorithmOf, checkCa, type CaMaterial, type SigningAlgorithm } from './ca-check.js';

export { checkCa, type CaMaterial } from './ca-check.js';

// The egress proxy's certificate authority. It signs leaf certificates for WeCom's two hosts and
// nothing else: a critical nameConstraints extension permits only those names and excludes every
// IPv4 and IPv6 address, so a client that trusts it (NODE_EXTRA_CA_CERTS) trusts it for nothing else,
// even if its key is stolen. pathLen 0: it cannot make intermediates. ECDSA P-256: a key in 0.3 ms
// where RSA-2048 takes up to a second.

export const CA_VALIDITY_DAYS = 730;
const DAY_MS = 86_400_000;
/** Issued an hour in the past, so a client whose clock is a little behind accepts it. */
export const BACKDATE_MS = 60 * 60_000;

/** The CA ready to sign: its parsed certificate and a WebCrypto signing key. */
export interface SigningCa {
  material: CaMaterial;
  cert: x509.X509Certificate;
  key: CryptoKey;
  algorithm: SigningAlgorithm;
}

/** A new CA: certificate and PKCS#8 key, PEM. */
export async function createCa(now = new Date()): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=wecom-firewall egress CA ${randomBytes(4).toString('hex')}, O=wecom-firewall`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: P256,
    keys: keys as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create((keys as CryptoKeyPair).publicKey),
      nameConstraints(INTERCEPTED_HOSTS),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', (keys as CryptoKeyPair).privateKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/** nameConstraints, critical: only `hosts` (and names under them) are permitted, no address ever. */
export function nameConstraints(hosts: readonly string[]): x509.Extension {
  const subtrees = (names: GeneralName[]) => new GeneralSubtrees(names.map((base) => new GeneralSubtree({ base })));
  const value = new NameConstraints({
    permittedSubtrees: subtrees(hosts.map((dNSName) => new GeneralName({ dNSName }))),
    excludedSubtrees: subtrees(EXCLUDE_ALL_ADDRESSES.map((iPAddress) => new GeneralName({ iPAddress }))),
  });
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(value));
}

/** The CA ready to sign leaves. */
export async function signingCa(material: CaMaterial): Promise<SigningCa> {
  const keyObject = createPrivateKey(material.keyPem);
  const algorithm = algorithmOf(keyObject, material.source);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
  return { material, cert: new x509.X509Certificate(material.certPem), key, algorithm };
}

/** Where a generated CA is kept: <dataDir>/ca/ca.pem (the certificate) and ca.key (mode 0600). */
export function caFiles(dataDir: string): { dir: string; cert: string; key: string } {
  const dir = join(dataDir, 'ca');
  return { dir, cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') };
}

/** The CA kept under dataDir, checked; undefined if none was created yet. */
export function readStoredCa(dataDir: string, now = new Date()): CaMaterial | undefined {
  const files = caFiles(dataDir);
  const [hasCert, hasKey] = [existsSync(files.cert), existsSync(files.key)];
  if (!hasCert && !hasKey) return undefined;
  if (!hasCert || !hasKey) throw new Error(`${files.dir}: has ${hasCert ? 'ca.pem but no ca.key' : 'ca.key but no ca.pem'}; restore the missing file, or delete the directory to create a new CA (clients must then be given the new certificate)`);
  const mode = statSync(files.key).mode & 0o777;
  if (mode & 0o077) throw new Error(`${files.key}: the CA key is readable by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${files.key}`);
  return checkCa(readFileSync(files.cert, 'utf8'), readFileSync(files.key, 'utf8'), files.dir, now);
}

/**
 * The CA kept under dataDir, created on first use. Written whole into a fresh directory that is
 * then renamed into place, so two starts racing cannot pair one's certificate with the other's key.
 */
export async function ensureStoredCa(dataDir: string, now = new Date()): Promise<{ material: CaMaterial; created: boolean }> {
  const existing = readStoredCa(dataDir, now);
  if (existing) return { material: existing, created: false };
  const files = caFiles(dataDir);
  const { certPem, keyPem } = await createCa(now);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const staging = `${files.dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(staging, { mode: 0o700 });
  try {
    writeFileSync(join(staging, 'ca.key'), keyPem, { mode: 0o600 });
    writeFileSync(join(staging, 'ca.pem'), certPem, { mode: 0o644 });
    try {
      renameSync(staging, files.dir); // fails if another start created it first: theirs is used
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const material = readStoredCa(dataDir, now);
  if (!material) throw new Error(`${files.dir}: the CA just created cannot be read back`);
  return { material, created: material.certPem === new X509Certificate(certPem).toString() };
}

/** A positive 128-bit serial number (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
export function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** The CA a config names: egress.ca, else the one kept under dataDir, created if `create`. */
export async function caOf(config: { dataDir: string; egress?: { ca?: CaMaterial } }, create: boolean): Promise<{ material?: CaMaterial; created: boolean }> {
  if (config.egress?.ca) return { material: config.egress.ca, created: false };
  if (create) return ensureStoredCa(config.dataDir);
  return { material: readStoredCa(config.dataDir), created: false };
}
