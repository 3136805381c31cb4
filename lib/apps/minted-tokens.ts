import { randomBytes } from 'node:crypto';
import type { App } from '../config/load.js';

// Access tokens the firewall hands to agents instead of WeCom's. Like WeCom, an app gets the same
// token while it is valid; each token is bound to its app, and `expires_in` is the time it really
// has left. Tokens live in memory: after a restart agents get 40014 and fetch a new one, as they do
// when WeCom invalidates a token.

export const MINTED_TTL_MS = 7200 * 1000;

interface Minted {
  app: App;
  expiresAt: number;
}

export type TokenLookup = { app: App } | { error: 'invalid' | 'expired' };

export class MintedTokens {
  private readonly byToken = new Map<string, Minted>();
  private readonly current = new Map<string, string>();

  constructor(private readonly ttlMs = MINTED_TTL_MS, private readonly now: () => number = Date.now) {}

  issue(app: App): { token: string; expiresIn: number } {
    const held = this.current.get(app.name);
    const minted = held ? this.byToken.get(held) : undefined;
    if (held && minted && minted.expiresAt > this.now() + 1000) return { token: held, expiresIn: Math.floor((minted.expiresAt - this.now()) / 1000) };
    this.sweep();
    const token = `wf_${randomBytes(32).toString('base64url')}`;
    this.byToken.set(token, { app, expiresAt: this.now() + this.ttlMs });
    this.current.set(app.name, token);
    return { token, expiresIn: Math.floor(this.ttlMs / 1000) };
  }

  lookup(token: string): TokenLookup {
    const minted = this.byToken.get(token);
    if (!minted) return { error: 'invalid' };
    if (minted.expiresAt <= this.now()) return { error: 'expired' };
    return { app: minted.app };
  }

  /** Expired tokens are kept one more lifetime (to answer 42001 rather than 40014), then dropped. */
  private sweep(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [token, m] of this.byToken) if (m.expiresAt < cutoff) this.byToken.delete(token);
  }
}
