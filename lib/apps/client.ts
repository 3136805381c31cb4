import type http from 'node:http';
import type { App } from '../config/load.js';
import type { Redactor } from '../config/secrets.js';
import { requestUpstream, type UpstreamAnswer } from '../upstream/send.js';
import { UpstreamRefusal, type UpstreamGuard } from '../upstream/guard.js';
import { FirewallError } from '../errors.js';
import { STALE_TOKEN_ERRCODES, UpstreamTokens, parseTokenAnswer } from './upstream-tokens.js';

// Calls to WeCom's app API with the app's real token, which only this module sees. Every request
// (gettoken included) goes through the upstream guard: retried only where WeCom certainly did not
// act, refused at once while the circuit is open, and cooled down after a 45009. If WeCom says the
// token is invalid or expired (it can revoke one early), a fresh one is fetched and the call is made
// once more: the same bytes, WeCom refused the first, so one message never becomes two.

/** Reads: repeating one after an ambiguous failure changes nothing at WeCom. */
const IDEMPOTENT = new Set(['/cgi-bin/media/get']);
/** Answers that are a file, not WeCom's JSON. */
const FILE_ANSWERS = IDEMPOTENT;

export class AppClient {
  readonly tokens: UpstreamTokens;

  constructor(
    private readonly upstream: URL,
    private readonly agent: http.Agent,
    private readonly timeoutMs: number,
    private readonly redactor: Redactor,
    readonly guard: UpstreamGuard,
  ) {
    this.tokens = new UpstreamTokens((app) => this.fetchToken(app));
  }

  async call(app: App, method: 'GET' | 'POST', path: string, query: string, body?: Buffer, contentType?: string): Promise<UpstreamAnswer> {
    const read = method === 'GET' && IDEMPOTENT.has(path);
    const options = { target: `app:${app.name}`, idempotent: read, expectJson: !(method === 'GET' && FILE_ANSWERS.has(path)) };
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokenFor(app);
      const request = { method, path: `${path}?access_token=${encodeURIComponent(token)}${query ? `&${query}` : ''}`, body, contentType };
      const answer = await this.guard.call(options, () => requestUpstream(this.upstream, this.agent, request, this.timeoutMs));
      if (attempt === 1 && answer.errcode !== undefined && STALE_TOKEN_ERRCODES.has(answer.errcode)) {
        this.tokens.invalidate(app, token);
        continue;
      }
      return answer;
    }
  }

  /**
   * The real token; a failure to get one happens before the call is made, so it is refused as the
   * firewall's own (a plain FirewallError: WeCom certainly has no message), never as "may have it".
   */
  private async tokenFor(app: App): Promise<string> {
    try {
      return await this.tokens.get(app);
    } catch (err) {
      if (err instanceof UpstreamRefusal) throw new FirewallError(err.code, `getting the app's token: ${err.message}`, { headers: err.headers, cause: err });
      throw err;
    }
  }

  private async fetchToken(app: App): Promise<{ token: string; expiresIn: number }> {
    const query = new URLSearchParams({ corpid: app.corpId, corpsecret: app.corpSecret });
    // A read: WeCom hands out the same token while it is valid, so asking twice is harmless.
    const answer = await this.guard.call({ target: `app:${app.name}`, idempotent: true }, () => requestUpstream(this.upstream, this.agent, { method: 'GET', path: `/cgi-bin/gettoken?${query}` }, this.timeoutMs));
    const parsed = parseTokenAnswer(answer.status, answer.body);
    this.redactor.add(parsed.token); // a real token never appears in a log line or an answer
    return parsed;
  }
}
