import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { createSecureContext, createServer, connect, type SecureContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { x509 } from '../../lib/egress/x509.js';
import { caFiles, checkCa, createCa, ensureStoredCa, readStoredCa, serialNumber, signingCa, type SigningCa } from '../../lib/egress/ca.js';
import { LeafCertificates, RENEW_BEFORE_MS, mintLeaf, LEAF_VALIDITY_MS } from '../../lib/egress/leaves.js';
import { API_HOST, BOT_HOST } from '../../lib/egress/hosts.js';
import { tempDir, until } from '../helpers.js';

// The egress proxy's CA: what it carries, and that Node's TLS holds it to its name constraints, so a
// stolen CA key cannot impersonate any other site to a client that trusts it.

/** Connects with only `caPem` trusted to a TLS server presenting `context`, as `servername`. */
async function handshake(context: SecureContext, servername: string, caPem: string): Promise<{ ok: true } | { ok: false; message: string }> {
  const server = createServer({ SNICallback: (_name, cb) => cb(null, context) }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise((resolve) => {
      const socket = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, ca: caPem }, () => {
        socket.destroy();
        resolve({ ok: true });
      });
      socket.on('error', (err) => resolve({ ok: false, message: err.message }));
    });
  } finally {
    server.close();
  }
}

/** A leaf signed with the CA's key for an IP address (an iPAddress SAN), bypassing mintLeaf. */
async function ipLeaf(ca: SigningCa, ip: string): Promise<SecureContext> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${ip}`,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: ca.algorithm,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: ip }]), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
  });
  return createSecureContext({ cert: cert.toString('pem'), key: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') });
}

/** A self-signed CA without nameConstraints: what an operator might bring. */
async function unconstrainedCa(): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=corporate root',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

describe('the egress CA', () => {
  let pem: { certPem: string; keyPem: string };
  let ca: SigningCa;
  before(async () => {
    pem = await createCa();
    ca = await signingCa(checkCa(pem.certPem, pem.keyPem, 'spec'));
  });

  it('is an ECDSA P-256 CA with pathLen 0, about two years, and critical nameConstraints for the two WeCom hosts only', () => {
    const cert = new x509.X509Certificate(pem.certPem);
    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.deepEqual([bc.ca, bc.pathLength, bc.critical], [true, 0, true]);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const nc = cert.getExtension('2.5.29.30')!;
    assert.equal(nc.critical, true);
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
    assert.ok(days > 700 && days < 740, `${days} days`);
    assert.equal((cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve, 'P-256');
  });

  it('signs leaves that Node accepts for both WeCom hosts, with the CA as the only trust anchor', async () => {
    for (const host of [API_HOST, BOT_HOST]) {
      const leaf = await mintLeaf(ca, host);
      assert.deepEqual(await handshake(leaf.context, host, pem.certPem), { ok: true }, host);
      const days = (leaf.notAfter.getTime() - Date.now()) / 86_400_000;
      assert.ok(days > 13 && days <= 14, `${days} days`);
    }
  });

  it('cannot be used to impersonate any other site: a leaf for another host, signed with its key, is refused by Node', async () => {
    for (const host of ['www.google.com', 'xqyapi.weixin.qq.com', 'work.weixin.qq.com']) {
      const leaf = await mintLeaf(ca, host);
      const r = await handshake(leaf.context, host, pem.certPem);
      assert.equal(r.ok, false, host);
      assert.match((r as { message: string }).message, /permitted subtree violation/, host);
    }
  });

  it('cannot vouch for any IP address (all IPv4 and IPv6 are excluded)', async () => {
    for (const ip of ['127.0.0.1', '169.254.169.254', '::1']) {
      const r = await handshake(await ipLeaf(ca, ip), 'localhost', pem.certPem);
      assert.equal(r.ok, false, ip);
    }
  });

  it('is refused when brought without name constraints, without its key, expired, or when it is not a CA', async () => {
    const other = await createCa();
    const corporate = await unconstrainedCa();
    const leaf = await mintLeaf(ca, API_HOST);
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['no nameConstraints', () => checkCa(corporate.certPem, corporate.keyPem, 'corp.pem'), /corp\.pem: the CA has no critical nameConstraints extension.*ca init/],
      ['another key', () => checkCa(pem.certPem, other.keyPem, 'ca.pem'), /the key does not belong to the certificate/],
      ['not PEM', () => checkCa('hello', pem.keyPem, 'ca.pem'), /not a PEM certificate/],
      ['a leaf', () => checkCa(leaf.certPem, pem.keyPem, 'leaf.pem'), /not a CA certificate/],
      ['expired', () => checkCa(pem.certPem, pem.keyPem, 'ca.pem', new Date(Date.now() + 800 * 86_400_000)), /expired on .*ca init/],
    ];
    for (const [name, run, expected] of cases) assert.throws(run, expected, name);
  });
});

describe('the CA kept under dataDir', () => {
  it('is created once, with a key only its owner can read, and read back unchanged', async () => {
    const dataDir = tempDir();
    assert.equal(readStoredCa(dataDir), undefined);
    const first = await ensureStoredCa(dataDir);
    assert.equal(first.created, true);
    const files = caFiles(dataDir);
    assert.equal(statSync(files.key).mode & 0o777, 0o600);
    assert.equal(statSync(files.dir).mode & 0o077, 0);
    const again = await ensureStoredCa(dataDir);
    assert.deepEqual([again.created, again.material.fingerprint], [false, first.material.fingerprint]);
    assert.equal(new X509Certificate(readFileSync(files.cert)).fingerprint256, first.material.fingerprint);
  });

  it('two starts racing create one CA between them', async () => {
    const dataDir = tempDir();
    const [a, b] = await Promise.all([ensureStoredCa(dataDir), ensureStoredCa(dataDir)]);
    assert.equal(a.material.fingerprint, b.material.fingerprint);
  });

  it('refuses a key readable by others, and a half-deleted CA, saying what to do', async () => {
    const dataDir = tempDir();
    await ensureStoredCa(dataDir);
    const files = caFiles(dataDir);
    chmodSync(files.key, 0o644);
    assert.throws(() => readStoredCa(dataDir), /readable by others \(mode 0644\): chmod 600/);
    unlinkSync(files.cert);
    assert.throws(() => readStoredCa(dataDir), /has ca\.key but no ca\.pem/);
    assert.ok(existsSync(files.key));
  });
});

describe('leaf certificates', () => {
  it('are minted for every host at start and renewed in the background at half-life, never served expired', async () => {
    const pem = await createCa();
    const ca = await signingCa(checkCa(pem.certPem, pem.keyPem, 'spec'));
    let now = Date.now();
    const leaves = new LeafCertificates(ca, [API_HOST, BOT_HOST], { now: () => now });
    await leaves.start();
    try {
      const first = leaves.leaf(API_HOST)!;
      assert.ok(leaves.context(API_HOST) && leaves.context(BOT_HOST));
      assert.equal(leaves.context('www.google.com'), undefined);
      now += LEAF_VALIDITY_MS - RENEW_BEFORE_MS + 60_000; // past half-life: still served, renewal started
      assert.equal(leaves.context(API_HOST), first.context);
      const renewed = await until('the renewed leaf', () => leaves.leaf(API_HOST) !== first && leaves.leaf(API_HOST));
      assert.ok(renewed.notAfter > first.notAfter);
      assert.notEqual(new X509Certificate(renewed.certPem).publicKey.export({ format: 'jwk' }).x, new X509Certificate(first.certPem).publicKey.export({ format: 'jwk' }).x, 'a fresh key');
      now += LEAF_VALIDITY_MS * 3; // far past every leaf, renewal not yet done: nothing is served
      assert.equal(leaves.context(BOT_HOST), undefined);
    } finally {
      leaves.close();
    }
  });
});
