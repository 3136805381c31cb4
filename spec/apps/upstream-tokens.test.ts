import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../lib/errors.js';
import { REFRESH_MARGIN_MS, UpstreamTokens, parseTokenAnswer } from '../../lib/apps/upstream-tokens.js';
import { parseRate } from '../../lib/config/units.js';

const app = { name: 'helpdesk', corpId: 'ww1', corpSecret: 'real', agentId: 1000002, clientSecret: 'client', limit: parseRate('10/min') };

describe('UpstreamTokens', () => {
  it('fetches once for concurrent callers and caches until shortly before expiry', async () => {
    let now = 0;
    let fetches = 0;
    const tokens = new UpstreamTokens(async () => ({ token: `real-${++fetches}`, expiresIn: 7200 }), () => now);
    const all = await Promise.all([tokens.get(app), tokens.get(app), tokens.get(app)]);
    assert.deepEqual(all, ['real-1', 'real-1', 'real-1']);
    now = 7200_000 - REFRESH_MARGIN_MS - 1;
    assert.equal(await tokens.get(app), 'real-1');
    now = 7200_000 - REFRESH_MARGIN_MS + 1;
    assert.equal(await tokens.get(app), 'real-2');
  });

  it('drops a token WeCom no longer accepts, but not a newer one', async () => {
    let fetches = 0;
    const tokens = new UpstreamTokens(async () => ({ token: `real-${++fetches}`, expiresIn: 7200 }));
    assert.equal(await tokens.get(app), 'real-1');
    tokens.invalidate(app, 'real-1');
    assert.equal(await tokens.get(app), 'real-2');
    tokens.invalidate(app, 'real-1'); // a late report about the old token changes nothing
    assert.equal(await tokens.get(app), 'real-2');
  });

  it('does not cache a failed fetch', async () => {
    let calls = 0;
    const tokens = new UpstreamTokens(async () => {
      if (++calls === 1) throw new Error('down');
      return { token: 'real', expiresIn: 7200 };
    });
    await assert.rejects(tokens.get(app), /down/);
    assert.equal(await tokens.get(app), 'real');
  });
});

describe('parseTokenAnswer', () => {
  it('accepts only a usable token', () => {
    assert.deepEqual(parseTokenAnswer(200, Buffer.from('{"errcode":0,"errmsg":"ok","access_token":"T","expires_in":7200}')), { token: 'T', expiresIn: 7200 });
    for (const [status, body] of [
      [200, '{"errcode":40001,"errmsg":"invalid credential"}'],
      [200, 'not json'],
      [500, '{"errcode":0,"access_token":"T","expires_in":7200}'],
      [200, '{"errcode":0,"expires_in":7200}'],
    ] as const) {
      assert.throws(() => parseTokenAnswer(status, Buffer.from(body)), (e: FirewallError) => e.code === 'UPSTREAM_TOKEN_FAILED' && e.status === 502);
    }
  });
});
