import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { FirewallError } from '../errors.js';

// Links in the WeCom notification card: each approver gets a personal, short-lived link to one
// approval's page. The token rides in the URL fragment, so it never reaches a server log, a proxy
// or a chat app's link-preview fetcher; the page hands it to the admin API as a bearer token.
// It may read that one approval until it expires, and decide it once: the store records its `jti`
// in the same transaction as the vote.

export const LINK_TYPE = 'wf-approval-link';
const ISSUER = 'wecom-firewall';
const AUDIENCE = 'wecom-firewall:approval-link';

export interface LinkIdentity {
  sub: string;
  approvalId: string;
  jti: string;
  expiresAt: Date;
}

export class ApprovalLinks {
  private readonly key: Uint8Array;

  /** `secret` is the data directory's token key; links use a key derived from it for this purpose only. */
  constructor(
    secret: Uint8Array,
    private readonly publicUrl: string | undefined,
    /** Read at each issue: a reload may change approvals.notify.linkTtl. */
    private readonly ttlMs: () => number,
  ) {
    this.key = createHmac('sha256', secret).update('wecom-firewall approval links v1').digest();
  }

  /** A link for `sub` to decide approval `id`, valid for the link ttl but never past the record's expiry. */
  async issue(id: string, sub: string, recordExpiresAt: string): Promise<string> {
    if (!this.publicUrl) throw new Error('admin.publicUrl is not set');
    const exp = Math.floor(Math.min(Date.now() + this.ttlMs(), Date.parse(recordExpiresAt)) / 1000);
    const token = await new SignJWT({ apr: id })
      .setProtectedHeader({ alg: 'HS256', typ: LINK_TYPE })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.key);
    return `${this.publicUrl}/console/approvals/${encodeURIComponent(id)}#t=${token}`;
  }

  async verify(token: string): Promise<LinkIdentity> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        typ: LINK_TYPE,
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'jti', 'exp', 'iat', 'apr'],
      });
      if (typeof payload.apr !== 'string') throw new FirewallError('UNAUTHENTICATED', 'link token names no approval');
      return { sub: payload.sub!, approvalId: payload.apr, jti: payload.jti!, expiresAt: new Date(payload.exp! * 1000) };
    } catch (err) {
      if (err instanceof FirewallError) throw err;
      throw new FirewallError('UNAUTHENTICATED', err instanceof errors.JWTExpired ? 'link expired: open the console and sign in' : 'link token not valid');
    }
  }
}
