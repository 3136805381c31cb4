import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../config/load.js';

// Access tokens the firewall hands to agents instead of WeCom's: random, bound to one app, and
// signed with a key kept in dataDir, so they stay valid across a restart. That matters: plugins
// cache a token for up to two hours and do not fetch a new one when told it is invalid. Like WeCom,
// an app gets the same token while it is valid, and `expires_in` is the time it really has left.
// A token also carries a fingerprint of the app's client secret: rotating that secret revokes it.

export const MINTED_TTL_MS = 7200 * 1000;
const PREFIX = 'wf1';

export type TokenLookup = { app: App } | { error: 'invalid' | 'expired' };

interface Claims {
  a: string; // app name
  e: number; // expiry, ms since epoch
  c: string; // client secret fingerprint
  n: string; // nonce
}

export class MintedTokens {
  private readonly current = new Map<string, { token: string; expiresAt: number; fingerprint: string }>();

  constructor(
    private readonly key: Buffer,
    /** The configured apps, looked up at each check (a reload may change them). */
    private readonly apps: { get(name: string): App | undefined },
    private readonly ttlMs = MINTED_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  issue(app: App): { token: string; expiresIn: number } {
    const held = this.current.get(app.name);
    const fingerprint = this.fingerprint(app);
    // A held token minted before the client secret rotated (a reload) would be refused at lookup.
    if (held && held.fingerprint === fingerprint && held.expiresAt > this.now() + 1000) return { token: held.token, expiresIn: Math.floor((held.expiresAt - this.now()) / 1000) };
    const claims: Claims = { a: app.name, e: this.now() + this.ttlMs, c: fingerprint, n: randomBytes(16).toString('base64url') };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const token = `${PREFIX}.${body}.${this.sign(body)}`;
    this.current.set(app.name, { token, expiresAt: claims.e, fingerprint });
    return { token, expiresIn: Math.floor(this.ttlMs / 1000) };
  }

  lookup(token: string): TokenLookup {
    const [prefix, body, signature, ...rest] = token.split('.');
    if (prefix !== PREFIX || !body || !signature || rest.length) return { error: 'invalid' };
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { error: 'invalid' };
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    } catch {
      return { error: 'invalid' };
    }
    const app = this.apps.get(claims.a);
    if (!app || claims.c !== this.fingerprint(app)) return { error: 'invalid' };
    if (claims.e <= this.now()) return { error: 'expired' };
    return { app };
  }

  /** Keyed, so a token does not let anyone test guesses of the client secret offline. */
  private fingerprint(app: App): string {
    return createHmac('sha256', this.key).update(`client-secret:${app.clientSecret}`).digest('base64url').slice(0, 16);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(`${PREFIX}.${body}`).digest('base64url');
  }
}


/** The signing key in `<dataDir>/token.key`, created (0600) on first start. */
export function loadTokenKey(dataDir: string): Buffer {
  const file = join(dataDir, 'token.key');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx', 0o600);
    writeSync(fd, randomBytes(32));
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = readFileSync(file);
  if (key.length < 32) throw new Error(`${file} is shorter than 32 bytes; delete it to create a new one (agents then fetch new tokens)`);
  return key;
}
