import { FirewallError } from '../errors.js';
import type { App } from '../config/load.js';

// WeCom's real access tokens, fetched with the real corpsecret and never shown to an agent. One
// fetch at a time per app (concurrent callers share it), cached until shortly before WeCom says it
// expires, and dropped when WeCom answers that it is invalid or expired (40014, 42001).

export const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** WeCom's errcodes for a token it no longer accepts. */
export const STALE_TOKEN_ERRCODES = new Set([40014, 42001]);

export type FetchToken = (app: App) => Promise<{ token: string; expiresIn: number }>;

export class UpstreamTokens {
  private readonly cache = new Map<string, { token: string; expiresAt: number }>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly fetchToken: FetchToken, private readonly now: () => number = Date.now) {}

  get(app: App): Promise<string> {
    const cached = this.cache.get(app.name);
    if (cached && cached.expiresAt - REFRESH_MARGIN_MS > this.now()) return Promise.resolve(cached.token);
    let pending = this.inflight.get(app.name);
    if (!pending) {
      pending = this.fetchToken(app)
        .then(({ token, expiresIn }) => {
          this.cache.set(app.name, { token, expiresAt: this.now() + expiresIn * 1000 });
          return token;
        })
        .finally(() => this.inflight.delete(app.name));
      this.inflight.set(app.name, pending);
    }
    return pending;
  }

  /** Forget `token` if it is still the cached one (another request may have refreshed it already). */
  invalidate(app: App, token: string): void {
    if (this.cache.get(app.name)?.token === token) this.cache.delete(app.name);
  }
}

/** Parses WeCom's gettoken answer, refusing anything but a usable token. */
export function parseTokenAnswer(status: number, body: Buffer): { token: string; expiresIn: number } {
  let v: { errcode?: unknown; access_token?: unknown; expires_in?: unknown } = {};
  try {
    v = JSON.parse(body.toString('utf8')) as typeof v;
  } catch {
    /* handled below */
  }
  if (status !== 200 || v.errcode !== 0 || typeof v.access_token !== 'string' || typeof v.expires_in !== 'number') {
    const errcode = typeof v.errcode === 'number' ? v.errcode : undefined;
    // Busy or throttled is not a refusal of the credentials: the agent may try again later.
    if (errcode === -1 || errcode === 45033) throw new FirewallError('UPSTREAM_UNAVAILABLE', `WeCom was busy issuing this app's token (errcode ${errcode})`);
    if (errcode === 45009) throw new FirewallError('RATE_LIMITED', "WeCom throttled this app's token requests (errcode 45009)", { headers: { 'Retry-After': '60' } });
    throw new FirewallError('UPSTREAM_TOKEN_FAILED', `WeCom refused the firewall's credentials for this app${errcode !== undefined ? ` (errcode ${errcode})` : ''}`);
  }
  return { token: v.access_token, expiresIn: v.expires_in };
}
