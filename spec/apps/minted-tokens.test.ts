import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MintedTokens } from '../../lib/apps/minted-tokens.js';
import { parseRate } from '../../lib/config/units.js';

const app = (name: string) => ({ name, corpId: 'ww1', corpSecret: 'real', agentId: 1000002, clientSecret: 'client', limit: parseRate('10/min') });

describe('MintedTokens', () => {
  it('gives an app the same token while it is valid, with an honest expires_in', () => {
    let now = 0;
    const tokens = new MintedTokens(7200_000, () => now);
    const a = app('helpdesk');
    const first = tokens.issue(a);
    assert.equal(first.expiresIn, 7200);
    now = 1000_000;
    const again = tokens.issue(a);
    assert.equal(again.token, first.token);
    assert.equal(again.expiresIn, 6200);
    assert.deepEqual(tokens.lookup(first.token), { app: a });
  });

  it('binds a token to its app and tells expired from unknown', () => {
    let now = 0;
    const tokens = new MintedTokens(1000, () => now);
    const one = tokens.issue(app('one'));
    const two = tokens.issue(app('two'));
    assert.notEqual(one.token, two.token);
    assert.equal((tokens.lookup(two.token) as { app: { name: string } }).app.name, 'two');
    now = 1500;
    assert.deepEqual(tokens.lookup(one.token), { error: 'expired' });
    assert.deepEqual(tokens.lookup('a-real-wecom-token'), { error: 'invalid' });
    const fresh = tokens.issue(app('one'));
    assert.notEqual(fresh.token, one.token);
  });
});
