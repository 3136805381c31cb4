import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { API_HOST, INTERCEPTED_HOSTS } from './hosts.js';

// Checking a CA certificate and key before the egress proxy signs with them: at config load (egress.ca)
// and when the generated one is read back. Only node:crypto and the ASN.1 schemas: the config loader
// does not pull in the certificate builder (and its global Reflect polyfill).

export const EXCLUDE_ALL_ADDRESSES = ['0.0.0.0/0', '::/0'];
export const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** For importing the key and signing with it: ECDSA (curve and hash) or RSASSA-PKCS1-v1_5. */
export interface SigningAlgorithm { name: string; namedCurve?: string; hash: string }

/** A CA certificate and its key (PEM), checked as a pair, and where they came from (for messages). */
export interface CaMaterial {
  certPem: string;
  keyPem: string;
  source: string;
  /** SHA-256 of the DER certificate, colon-separated hex: what an operator compares. */
  fingerprint: string;
  notAfter: Date;
}

/**
 * Checks a CA certificate and key as a pair and returns them; throws an Error saying what is wrong
 * and how to fix it. A CA without the name constraints is refused: trusted by every client, it could
 * impersonate any site.
 */
export function checkCa(certPem: string, keyPem: string, source: string, now = new Date()): CaMaterial {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new Error(`${source}: not a PEM certificate`);
  }
  if (!cert.ca) throw new Error(`${source}: not a CA certificate (basicConstraints cA is not set)`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new Error(`${source}: the key is not an unencrypted PEM private key`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`${source}: the key does not belong to the certificate`);
  algorithmOf(key, source);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime()) throw new Error(`${source}: the CA expired on ${notAfter.toISOString()}: create a new one (wecom-firewall ca init) and give clients its certificate`);
  checkConstraints(cert.raw, source);
  return { certPem: cert.toString(), keyPem, source, fingerprint: cert.fingerprint256, notAfter };
}

function checkConstraints(der: Buffer, source: string): void {
  const fix = `create one with: wecom-firewall ca init (it permits only ${INTERCEPTED_HOSTS.join(' and ')} and excludes all IP addresses)`;
  const ext = AsnConvert.parse(der, Certificate).tbsCertificate.extensions?.find((e) => e.extnID === id_ce_nameConstraints);
  if (!ext?.critical) throw new Error(`${source}: the CA has no critical nameConstraints extension: trusted by clients, it could impersonate any site; ${fix}`);
  const nc = AsnConvert.parse(ext.extnValue.buffer, NameConstraints);
  const permitted = (nc.permittedSubtrees ?? []).map((s) => s.base);
  const dns = permitted.flatMap((n) => (n.dNSName === undefined ? [] : [n.dNSName.toLowerCase()]));
  const beyond = dns.filter((d) => !INTERCEPTED_HOSTS.some((h) => d === h || d.endsWith(`.${h}`)));
  if (!dns.includes(API_HOST) || beyond.length || dns.length !== permitted.length) {
    throw new Error(`${source}: the CA's nameConstraints must permit ${API_HOST} (and at most ${INTERCEPTED_HOSTS.join(', ')}) and nothing else${beyond.length ? `, not ${beyond.join(', ')}` : ''}; ${fix}`);
  }
  const excluded = new Set((nc.excludedSubtrees ?? []).flatMap((s) => (s.base.iPAddress === undefined ? [] : [s.base.iPAddress])));
  if (!EXCLUDE_ALL_ADDRESSES.every((a) => excluded.has(a))) throw new Error(`${source}: the CA's nameConstraints must exclude all IPv4 and IPv6 addresses (0.0.0.0/0 and ::/0); ${fix}`);
}

/** The WebCrypto algorithm to sign with this key; EC P-256/P-384 and RSA are accepted. */
export function algorithmOf(key: KeyObject, source: string): SigningAlgorithm {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return P256;
  if (key.asymmetricKeyType === 'ec' && curve === 'secp384r1') return { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  throw new Error(`${source}: a ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} key cannot sign here; use EC P-256 (what ca init creates), P-384 or RSA`);
}

