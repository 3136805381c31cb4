import type http from 'node:http';
import type { App } from '../config/load.js';
import type { Redactor } from '../config/secrets.js';
import { requestUpstream, type UpstreamAnswer } from '../upstream/send.js';
import { STALE_TOKEN_ERRCODES, UpstreamTokens, parseTokenAnswer } from './upstream-tokens.js';

// Calls to WeCom's app API with the app's real token, which only this module sees. If WeCom says
// the token is invalid or expired (it can revoke one early), a fresh one is fetched and the call is
// made once more: the same bytes, so one message never becomes two.

export class AppClient {
  readonly tokens: UpstreamTokens;

  constructor(
    private readonly upstream: URL,
    private readonly agent: http.Agent,
    private readonly timeoutMs: number,
    private readonly redactor: Redactor,
  ) {
    this.tokens = new UpstreamTokens((app) => this.fetchToken(app));
  }

  async call(app: App, method: 'GET' | 'POST', path: string, query: string, body?: Buffer, contentType?: string): Promise<UpstreamAnswer> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get(app);
      const answer = await requestUpstream(this.upstream, this.agent, { method, path: `${path}?access_token=${encodeURIComponent(token)}${query ? `&${query}` : ''}`, body, contentType }, this.timeoutMs);
      if (attempt === 1 && answer.errcode !== undefined && STALE_TOKEN_ERRCODES.has(answer.errcode)) {
        this.tokens.invalidate(app, token);
        continue;
      }
      return answer;
    }
  }

  private async fetchToken(app: App): Promise<{ token: string; expiresIn: number }> {
    const query = new URLSearchParams({ corpid: app.corpId, corpsecret: app.corpSecret });
    const answer = await requestUpstream(this.upstream, this.agent, { method: 'GET', path: `/cgi-bin/gettoken?${query}` }, this.timeoutMs);
    const parsed = parseTokenAnswer(answer.status, answer.body);
    this.redactor.add(parsed.token); // a real token never appears in a log line or an answer
    return parsed;
  }
}
