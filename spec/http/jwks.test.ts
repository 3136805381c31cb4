import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { startStack, type Stack } from '../helpers.js';

// Approvers signed in by an identity provider: asymmetric JWTs checked against a JWKS URL, with the
// issuer and audience the config names.

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'wecom-firewall';

describe('admin API with a JWKS', () => {
  let stack: Stack;
  let jwks: http.Server;
  let idpKey: CryptoKey;
  let strangerKey: CryptoKey;

  const sign = (key: CryptoKey, claims: { sub?: string; iss?: string; aud?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setSubject(claims.sub ?? 'alice')
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  before(async () => {
    const idp = await generateKeyPair('ES256');
    idpKey = idp.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const publicJwk = { ...(await exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    jwks = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    stack = await startStack({ admin: { listen: '127.0.0.1:0', jwtSecret: '${env:SPEC_ADMIN_SECRET}', jwks: { url, issuer: ISSUER, audience: AUDIENCE } } });
  });
  after(async () => {
    await stack.close();
    jwks.close();
  });

  it('accepts a token from the identity provider, and HS256 tokens alongside', async () => {
    assert.equal((await stack.admin('GET', '/approvals', await sign(idpKey))).status, 200);
    assert.equal((await stack.admin('GET', '/approvals', await stack.token('alice'))).status, 200);
  });

  const refused: Array<[string, () => Promise<string>]> = [
    ['another audience', () => sign(idpKey, { aud: 'some-other-app' })],
    ['another issuer', () => sign(idpKey, { iss: 'https://evil.example.test' })],
    ['a key the JWKS does not hold', () => sign(strangerKey)],
  ];
  for (const [name, token] of refused) {
    it(`answers a token with ${name} with 401`, async () => {
      const a = await stack.admin('GET', '/approvals', await token());
      assert.deepEqual([a.status, a.json.errcode], [401, 9900010]);
    });
  }

  it('still answers a valid provider token of someone not listed with 403', async () => {
    assert.equal((await stack.admin('GET', '/approvals', await sign(idpKey, { sub: 'mallory' }))).status, 403);
  });

  it('refuses asymmetric tokens where no JWKS is configured', async () => {
    const plain = await startStack();
    try {
      assert.equal((await plain.admin('GET', '/approvals', await sign(idpKey))).status, 401);
    } finally {
      await plain.close();
    }
  });
});
