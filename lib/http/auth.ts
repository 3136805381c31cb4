import type http from 'node:http';
import { errors, jwtVerify } from 'jose';
import { FirewallError } from '../errors.js';

// Admin identities are bearer JWTs. Only HS256 is accepted (no "none", no algorithm confusion);
// the identity is the token's `sub`. A token lives at most MAX_TOKEN_AGE from its `iat`, whatever
// its `exp` says, so a leaked long-lived token stops working.
export const MAX_TOKEN_AGE = '12h';

export async function authenticate(req: http.IncomingMessage, secret: Uint8Array): Promise<string> {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(header);
  if (!m) throw new FirewallError('UNAUTHENTICATED', 'send Authorization: Bearer <JWT>');
  try {
    const { payload } = await jwtVerify(m[1]!, secret, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp', 'iat'], maxTokenAge: MAX_TOKEN_AGE });
    return payload.sub!;
  } catch (err) {
    const why = err instanceof errors.JWTExpired ? 'token expired' : err instanceof errors.JWTClaimValidationFailed ? `token claim ${err.claim} invalid` : 'token not valid';
    throw new FirewallError('UNAUTHENTICATED', why);
  }
}
