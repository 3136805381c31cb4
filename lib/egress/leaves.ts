import { createSecureContext, type SecureContext } from 'node:tls';
import { webcrypto } from 'node:crypto';
import { x509 } from './x509.js';
import { BACKDATE_MS, serialNumber, type SigningCa } from './ca.js';

// Leaf certificates for the intercepted hosts: a fresh P-256 key each, short-lived, minted at start
// and renewed in the background once half their life is gone, so a handshake never waits for a mint
// and never gets an expired leaf (the anchors cache leaves without looking at their expiry).

export const LEAF_VALIDITY_MS = 14 * 86_400_000;
/** Renewed when less than this is left: at half-life, so a failing renewal has a week to be noticed. */
export const RENEW_BEFORE_MS = 7 * 86_400_000;
const CHECK_EVERY_MS = 60 * 60_000;

export interface Leaf {
  host: string;
  certPem: string;
  notAfter: Date;
  /** Leaf and CA certificate with the leaf's key: what the TLS server presents. */
  context: SecureContext;
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' };

export async function mintLeaf(ca: SigningCa, host: string, now = new Date()): Promise<Leaf> {
  const keys = (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notAfter = new Date(Math.min(now.getTime() + LEAF_VALIDITY_MS, ca.material.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${host}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: ca.algorithm,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  const certPem = cert.toString('pem');
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { host, certPem, notAfter, context: createSecureContext({ cert: `${certPem}\n${ca.material.certPem}`, key: keyPem }) };
}

export class LeafCertificates {
  private readonly current = new Map<string, Leaf>();
  private readonly renewing = new Map<string, Promise<Leaf>>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ca: SigningCa,
    readonly hosts: readonly string[],
    private readonly options: { now?: () => number; onRenewalFailed?: (host: string, err: unknown) => void } = {},
  ) {}

  /** Mints every host's leaf; throws if one cannot be minted (the egress listener must not start without). */
  async start(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.renew(h)));
    this.timer = setInterval(() => this.hosts.forEach((h) => this.context(h)), CHECK_EVERY_MS).unref();
  }

  /** The context to present for `host` now (undefined: none valid); starts a renewal when one is due. */
  context(host: string): SecureContext | undefined {
    const leaf = this.current.get(host);
    if (!leaf) return undefined;
    const now = this.now();
    // Due, and a new leaf would live longer (in the CA's last days it could not: leaves never outlive
    // the CA, and minting one per handshake would only burn CPU).
    if (leaf.notAfter.getTime() - now < RENEW_BEFORE_MS && leaf.notAfter.getTime() < this.ca.material.notAfter.getTime()) this.renew(host).catch((err: unknown) => this.options.onRenewalFailed?.(host, err));
    return leaf.notAfter.getTime() > now ? leaf.context : undefined;
  }

  leaf(host: string): Leaf | undefined {
    return this.current.get(host);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private renew(host: string): Promise<Leaf> {
    let pending = this.renewing.get(host);
    if (!pending) {
      pending = mintLeaf(this.ca, host, new Date(this.now())).then((leaf) => {
        this.current.set(host, leaf);
        return leaf;
      });
      const done = () => this.renewing.delete(host);
      pending.then(done, done);
      this.renewing.set(host, pending);
    }
    return pending;
  }
}
