import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { AGENT, appPost, CORP, fakeClock, getToken, OTHER_CORP, OTHER_SECRET, SECRET, sendMessage, startAppSimulator, textMessage, tokenFor } from './app-helpers.js';

describe('simulator app gettoken', () => {
  const clock = fakeClock();
  let sim: Simulator;
  before(async () => {
    sim = await startAppSimulator({ clock: clock.read, tokenTtlSeconds: 60 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  it('answers errcode 0, a token of at most 512 bytes and expires_in', async () => {
    const { status, json } = await getToken(sim);
    assert.equal(status, 200);
    assert.equal(json.errcode, 0);
    assert.equal(json.errmsg, 'ok');
    assert.equal(typeof json.access_token, 'string');
    assert.ok(Buffer.byteLength(String(json.access_token)) <= 512);
    assert.equal(json.expires_in, 60);
  });

  it('returns the same token while it is valid, with the seconds left, and a new one after expiry', async () => {
    const first = (await getToken(sim)).json;
    clock.now += 20_000;
    const again = (await getToken(sim)).json;
    assert.equal(again.access_token, first.access_token);
    assert.equal(again.expires_in, 40);
    clock.now += 40_000;
    const renewed = (await getToken(sim)).json;
    assert.notEqual(renewed.access_token, first.access_token);
    assert.equal(renewed.expires_in, 60);
  });

  it('each app of each corp has its own token', async () => {
    const mine = await tokenFor(sim);
    const other = await tokenFor(sim, OTHER_CORP, OTHER_SECRET);
    assert.notEqual(mine, other);
  });

  it('41002 without corpid, 41004 without corpsecret, 40013 for an unknown corpid, 40001 for a wrong secret', async () => {
    assert.equal((await getToken(sim, `corpsecret=${SECRET}`)).json.errcode, 41002);
    assert.equal((await getToken(sim, `corpid=&corpsecret=${SECRET}`)).json.errcode, 41002);
    assert.equal((await getToken(sim, `corpid=${CORP}`)).json.errcode, 41004);
    assert.equal((await getToken(sim, `corpid=nope&corpsecret=${SECRET}`)).json.errcode, 40013);
    assert.equal((await getToken(sim, `corpid=${CORP}&corpsecret=wrong`)).json.errcode, 40001);
    // another corp's secret is not this corp's
    assert.equal((await getToken(sim, `corpid=${CORP}&corpsecret=${OTHER_SECRET}`)).json.errcode, 40001);
    const refused = await getToken(sim, `corpid=${CORP}&corpsecret=wrong`);
    assert.equal(refused.status, 200);
    assert.equal(refused.json.access_token, undefined);
  });

  it('tokenRequests counts every gettoken call, refused ones too, and reset zeroes it', async () => {
    await getToken(sim);
    await getToken(sim);
    await getToken(sim, `corpid=${CORP}&corpsecret=wrong`);
    assert.equal(sim.tokenRequests(), 3);
    const control = (await (await fetch(`${sim.url}/__sim/app-messages`)).json()) as { tokenRequests: number };
    assert.equal(control.tokenRequests, 3);
    sim.reset();
    assert.equal(sim.tokenRequests(), 0);
  });

  it('a token survives reset', async () => {
    const token = await tokenFor(sim);
    sim.reset();
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 0);
  });

  it('failNext applies to gettoken, and a path-bound fault skips it', async () => {
    sim.failNext(1);
    assert.equal((await getToken(sim)).json.errcode, -1);
    sim.failNext(1, 45009, '/cgi-bin/message/send');
    const token = await tokenFor(sim);
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 45009);
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 0);
  });
});

describe('simulator app access_token gate', () => {
  const clock = fakeClock();
  let sim: Simulator;
  before(async () => {
    sim = await startAppSimulator({ clock: clock.read, tokenTtlSeconds: 60 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  const endpoints: Array<[string, string]> = [
    ['POST', '/cgi-bin/message/send'],
    ['POST', '/cgi-bin/appchat/send'],
    ['POST', '/cgi-bin/media/upload'],
    ['GET', '/cgi-bin/media/get'],
    ['GET', '/cgi-bin/user/delete'],
    ['POST', '/cgi-bin/user/batchdelete'],
    ['POST', '/cgi-bin/user/update'],
    ['POST', '/cgi-bin/tag/addtagusers'],
    ['POST', '/cgi-bin/tag/deltagusers'],
    ['POST', '/cgi-bin/agent/set'],
    ['GET', '/cgi-bin/department/delete'],
  ];

  const call = async (method: string, path: string, token: string | undefined): Promise<number> => {
    const query = token === undefined ? '' : `?access_token=${encodeURIComponent(token)}`;
    const init = method === 'POST' ? { method, body: '{}' } : { method };
    const response = await fetch(`${sim.url}${path}${query}`, init);
    assert.equal(response.status, 200);
    return ((await response.json()) as { errcode: number }).errcode;
  };

  for (const [method, path] of endpoints) {
    it(`${path}: 41001 without a token, 40014 for an unknown one, 42001 for an expired one`, async () => {
      assert.equal(await call(method, path, undefined), 41001);
      assert.equal(await call(method, path, ''), 41001);
      assert.equal(await call(method, path, 'made-up-token'), 40014);
      const token = await tokenFor(sim);
      clock.now += 60_000;
      assert.equal(await call(method, path, token), 42001);
      const fresh = await tokenFor(sim);
      assert.notEqual(await call(method, path, fresh), 42001);
    });
  }

  it('expireTokens(): the old token answers 42001, gettoken issues a new one', async () => {
    const token = await tokenFor(sim);
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 0);
    sim.expireTokens();
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 42001);
    const fresh = await tokenFor(sim);
    assert.notEqual(fresh, token);
    assert.equal((await sendMessage(sim, fresh, textMessage('zhangsan'))).json.errcode, 0);
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 42001);
  });

  it('POST /__sim/expire-tokens does the same over HTTP; GET is 405', async () => {
    const token = await tokenFor(sim);
    const response = await fetch(`${sim.url}/__sim/expire-tokens`, { method: 'POST' });
    assert.deepEqual({ status: response.status, json: await response.json() }, { status: 200, json: { ok: true } });
    assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 42001);
    const get = await fetch(`${sim.url}/__sim/expire-tokens`);
    assert.equal(get.status, 405);
    await get.text();
  });

  it('records a refused send with agentId null', async () => {
    await sendMessage(sim, 'made-up-token', textMessage('zhangsan'));
    const [message] = sim.appMessages();
    assert.equal(message?.errcode, 40014);
    assert.equal(message?.agentId, null);
    assert.deepEqual(message?.recipients, []);
  });

  it('without apps every corpid is unknown and every token invalid', async () => {
    const bare = await startSimulator({ quiet: true });
    try {
      assert.equal((await getToken(bare)).json.errcode, 40013);
      assert.equal((await appPost(bare, '/cgi-bin/message/send', 'x', textMessage('zhangsan'))).json.errcode, 40014);
    } finally {
      await bare.close();
    }
  });
});

describe('simulator app token lifetime on the real clock', () => {
  it('a 1 s token expires after 1 s and answers 42001', async () => {
    const sim = await startAppSimulator({ tokenTtlSeconds: 1 });
    try {
      const first = await getToken(sim);
      assert.equal(first.json.expires_in, 1);
      const token = String(first.json.access_token);
      assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 0);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await sendMessage(sim, token, textMessage('zhangsan'))).json.errcode, 42001);
      assert.notEqual((await getToken(sim)).json.access_token, token);
      assert.equal(sim.tokenRequests(), 2);
    } finally {
      await sim.close();
    }
  });
});

describe('simulator app options', () => {
  it('rejects a bad tokenTtlSeconds, app or chat list', async () => {
    await assert.rejects(startSimulator({ quiet: true, tokenTtlSeconds: 0 }), RangeError);
    await assert.rejects(startSimulator({ quiet: true, tokenTtlSeconds: 1.5 }), RangeError);
    await assert.rejects(startSimulator({ quiet: true, apps: [{ corpId: '', corpSecret: 's', agentId: 1 }] }), RangeError);
    await assert.rejects(startSimulator({ quiet: true, apps: [{ corpId: CORP, corpSecret: 's', agentId: 1.5 }] }), RangeError);
    const twice = { corpId: CORP, corpSecret: SECRET, agentId: AGENT };
    await assert.rejects(startSimulator({ quiet: true, apps: [twice, { ...twice, corpSecret: 'other' }] }), RangeError);
    await assert.rejects(startSimulator({ quiet: true, apps: [{ ...twice, users: [7 as unknown as string] }] }), RangeError);
    await assert.rejects(startSimulator({ quiet: true, chats: { chat: 'zhangsan' as unknown as string[] } }), RangeError);
  });
});
