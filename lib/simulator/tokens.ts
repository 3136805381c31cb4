import { randomBytes } from 'node:crypto';
import type { App } from './apps.js';

// App access_tokens. WeCom returns the same token while it is valid and a new one once it has
// expired. Expired tokens are remembered so they answer 42001 (expired) rather than 40014 (unknown),
// as WeCom does for a token it issued; they are never forgotten, which a simulator can afford.

interface Issued {
  app: App;
  expiresAt: number;
}

export type TokenCheck = { app: App } | { errcode: number };

export class TokenStore {
  readonly #ttlMs: number;
  readonly #issued = new Map<string, Issued>();
  readonly #current = new Map<App, string>();

  constructor(ttlSeconds: number) {
    this.#ttlMs = ttlSeconds * 1000;
  }

  /** The app's valid token, or a new one; `expiresIn` is the whole seconds left, rounded up. */
  issue(app: App, now: number): { token: string; expiresIn: number } {
    let token = this.#current.get(app);
    let issued = token === undefined ? undefined : this.#issued.get(token);
    if (token === undefined || !issued || now >= issued.expiresAt) {
      // Real tokens are opaque strings of about 100 URL-safe characters, well under the 512-byte cap.
      token = randomBytes(72).toString('base64url');
      issued = { app, expiresAt: now + this.#ttlMs };
      this.#issued.set(token, issued);
      this.#current.set(app, token);
    }
    return { token, expiresIn: Math.ceil((issued.expiresAt - now) / 1000) };
  }

  /** Missing 41001, unknown 40014, expired 42001. */
  check(token: string | null, now: number): TokenCheck {
    if (!token) return { errcode: 41001 };
    const issued = this.#issued.get(token);
    if (!issued) return { errcode: 40014 };
    if (now >= issued.expiresAt) return { errcode: 42001 };
    return { app: issued.app };
  }

  /** Early invalidation, as when WeCom drops a token before its expires_in (secret reset, say). */
  expireAll(): void {
    for (const issued of this.#issued.values()) issued.expiresAt = Number.NEGATIVE_INFINITY;
  }
}
