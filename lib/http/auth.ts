import type http from 'node:http';
import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { FirewallError } from '../errors.js';
import type { ResolvedConfig } from '../config/load.js';
import { LINK_TYPE, type ApprovalLinks, type LinkIdentity } from '../approvals/links.js';

// Admin identities are bearer JWTs; the identity is the token's `sub`. An HS256 token is checked with
// admin.jwtSecret; an asymmetric one (RS256, PS256, ES256, EdDSA) against admin.jwks, whose issuer and
// audience it must name. No "none", and no algorithm picks a key it was not configured for. A token
// lives at most MAX_TOKEN_AGE from its `iat`, whatever its `exp` says, so a leaked long-lived token
// stops working. A link token from a notification card (typ wf-approval-link, see approvals/links.ts)
// is an identity too, limited to one approval.
export const MAX_TOKEN_AGE = '12h';
export const MAX_TOKEN_AGE_SECONDS = 12 * 3600;
const ASYMMETRIC = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export interface Identity {
  sub: string;
  /** Set when signed in by a notification link: the identity may read and decide only this approval. */
  link?: LinkIdentity;
}

/**
 * An approver's sign-in token, as createAuthenticator accepts it: HS256 with admin.jwtSecret, `sub`,
 * `iat` and `exp`. No issuer or audience: those are checked only for admin.jwks tokens. A lifetime over
 * MAX_TOKEN_AGE is refused here, since the admin API would stop honouring the token at 12h anyway.
 */
export function signApproverToken(secret: string | Uint8Array, sub: string, ttlSeconds = 8 * 3600): Promise<string> {
  if (!sub) throw new RangeError('an approver token needs a sub');
  if (!(ttlSeconds > 0 && ttlSeconds <= MAX_TOKEN_AGE_SECONDS)) throw new RangeError(`an approver token lives more than 0 s and at most ${MAX_TOKEN_AGE}`);
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt(now).setExpirationTime(now + Math.floor(ttlSeconds)).sign(key);
}

export type Authenticate = (req: http.IncomingMessage) => Promise<Identity>;

export function createAuthenticator(admin: NonNullable<ResolvedConfig['admin']>, links?: ApprovalLinks): Authenticate {
  // The key set is fetched on first use and cached by jose (with its own cooldown on refetches).
  const keySet: JWTVerifyGetKey | undefined = admin.jwks && createRemoteJWKSet(admin.jwks.url);
  const common = { requiredClaims: ['sub', 'exp', 'iat'], maxTokenAge: MAX_TOKEN_AGE };
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(header);
    if (!m) throw new FirewallError('UNAUTHENTICATED', 'send Authorization: Bearer <JWT>');
    const token = m[1]!;
    try {
      const { alg, typ } = decodeProtectedHeader(token);
      if (typ === LINK_TYPE) {
        if (!links) throw new FirewallError('UNAUTHENTICATED', 'approval links are not enabled');
        const link = await links.verify(token);
        return { sub: link.sub, link };
      }
      let payload;
      if (alg === 'HS256' && admin.jwtSecret) ({ payload } = await jwtVerify(token, admin.jwtSecret, { ...common, algorithms: ['HS256'] }));
      else if (alg && ASYMMETRIC.includes(alg) && keySet && admin.jwks) {
        ({ payload } = await jwtVerify(token, keySet, { ...common, algorithms: ASYMMETRIC, issuer: admin.jwks.issuer, audience: admin.jwks.audience }));
      } else throw new FirewallError('UNAUTHENTICATED', `tokens signed with ${alg ?? 'no algorithm'} are not accepted here`);
      return { sub: payload.sub! };
    } catch (err) {
      if (err instanceof FirewallError) throw err;
      const why = err instanceof errors.JWTExpired ? 'token expired' : err instanceof errors.JWTClaimValidationFailed ? `token claim ${err.claim} invalid` : 'token not valid';
      throw new FirewallError('UNAUTHENTICATED', why);
    }
  };
}
