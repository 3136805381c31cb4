import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MintedTokens, loadTokenKey } from '../../lib/apps/minted-tokens.js';
import { parseRate } from '../../lib/config/units.js';
import type { App } from '../../lib/config/load.js';
import { tempDir } from '../helpers.js';

const app = (name: string, clientSecret = 'client'): App => ({ name, corpId: 'ww1', corpSecret: 'real', agentId: 1000002, clientSecret, limit: parseRate('10/min') });
const appsOf = (...list: App[]) => new Map(list.map((a) => [a.name, a]));

describe('MintedTokens', () => {
  it('gives an app the same token while it is valid, with an honest expires_in', () => {
    let now = 0;
    const a = app('helpdesk');
    const tokens = new MintedTokens(randomBytes(32), appsOf(a), 7200_000, () => now);
    const first = tokens.issue(a);
    assert.equal(first.expiresIn, 7200);
    now = 1000_000;
    const again = tokens.issue(a);
    assert.equal(again.token, first.token);
    assert.equal(again.expiresIn, 6200);
    assert.deepEqual(tokens.lookup(first.token), { app: a });
  });

  it('mints a new token when the client secret rotated (regression: a reload left gettoken handing out a refused token)', () => {
    const before = app('helpdesk', 'old-secret');
    const after = app('helpdesk', 'new-secret');
    const apps = new Map([[before.name, before]]);
    const tokens = new MintedTokens(randomBytes(32), apps);
    const old = tokens.issue(before);
    apps.set(after.name, after); // what a reload does
    const fresh = tokens.issue(after);
    assert.notEqual(fresh.token, old.token);
    assert.deepEqual(tokens.lookup(fresh.token), { app: after });
    assert.deepEqual(tokens.lookup(old.token), { error: 'invalid' });
  });

  it('binds a token to its app and tells expired from unknown or forged', () => {
    let now = 0;
    const [one, two] = [app('one'), app('two')];
    const tokens = new MintedTokens(randomBytes(32), appsOf(one, two), 1000, () => now);
    const t1 = tokens.issue(one);
    const t2 = tokens.issue(two);
    assert.notEqual(t1.token, t2.token);
    assert.equal((tokens.lookup(t2.token) as { app: App }).app.name, 'two');
    const [prefix, body, sig] = t1.token.split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString()) as { a: string };
    const forged = Buffer.from(JSON.stringify({ ...claims, a: 'two' })).toString('base64url');
    assert.deepEqual(tokens.lookup(`${prefix}.${forged}.${sig}`), { error: 'invalid' });
    assert.deepEqual(tokens.lookup('a-real-wecom-token'), { error: 'invalid' });
    now = 1500;
    assert.deepEqual(tokens.lookup(t1.token), { error: 'expired' });
    assert.notEqual(tokens.issue(one).token, t1.token);
  });

  it('keeps tokens valid across a restart (same key in dataDir), and revokes them when the client secret rotates', () => {
    const dir = tempDir();
    const a = app('helpdesk');
    const before = new MintedTokens(loadTokenKey(dir), appsOf(a)).issue(a).token;
    assert.deepEqual(new MintedTokens(loadTokenKey(dir), appsOf(a)).lookup(before), { app: a });
    assert.deepEqual(new MintedTokens(loadTokenKey(dir), appsOf(app('helpdesk', 'rotated'))).lookup(before), { error: 'invalid' });
    assert.deepEqual(new MintedTokens(loadTokenKey(tempDir()), appsOf(a)).lookup(before), { error: 'invalid' });
  });
});
