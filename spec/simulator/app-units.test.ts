import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppDirectory } from '../../lib/simulator/apps.js';
import type { Simulator } from '../../lib/simulator/index.js';
import { MemberLimit, MESSAGE_WINDOWS } from '../../lib/simulator/member-limit.js';
import { TokenStore } from '../../lib/simulator/tokens.js';
import { AGENT, startAppSimulator, tokenFor } from './app-helpers.js';

describe('simulator app building blocks', () => {
  it('MemberLimit: 30 per rolling minute and 1000 per rolling hour, per member; drops do not count', () => {
    const limit = new MemberLimit(MESSAGE_WINDOWS);
    for (let i = 0; i < 30; i++) assert.equal(limit.admit('a', i), true);
    assert.equal(limit.admit('a', 30), false);
    assert.equal(limit.admit('b', 30), true);
    assert.equal(limit.admit('a', 59_999), false);
    assert.equal(limit.admit('a', 60_000), true); // the first one left the window; the drops never entered it
    const hourly = new MemberLimit(MESSAGE_WINDOWS);
    let now = 0;
    for (let i = 0; i < 1000; i++) {
      assert.equal(hourly.admit('a', now), true);
      now += 2_001; // ≤ 30 a minute
    }
    assert.equal(hourly.admit('a', now), false);
    assert.equal(hourly.admit('a', 3_600_000), true);
  });

  it('TokenStore: same token while valid, 42001 after expiry or expireAll, 40014 unknown, 41001 missing', () => {
    const directory = new AppDirectory([{ corpId: 'c', corpSecret: 's', agentId: 1 }]);
    const credentials = directory.authenticate('c', 's');
    assert.ok('app' in credentials);
    const tokens = new TokenStore(10);
    const first = tokens.issue(credentials.app, 0);
    assert.equal(first.expiresIn, 10);
    assert.deepEqual(tokens.issue(credentials.app, 9_001), { token: first.token, expiresIn: 1 });
    assert.deepEqual(tokens.check(first.token, 9_999), { app: credentials.app });
    assert.deepEqual(tokens.check(first.token, 10_000), { errcode: 42001 });
    const second = tokens.issue(credentials.app, 10_000);
    assert.notEqual(second.token, first.token);
    tokens.expireAll();
    assert.deepEqual(tokens.check(second.token, 10_001), { errcode: 42001 });
    assert.deepEqual(tokens.check('nope', 0), { errcode: 40014 });
    assert.deepEqual(tokens.check(null, 0), { errcode: 41001 });
    assert.deepEqual(directory.authenticate('x', 's'), { errcode: 40013 });
    assert.deepEqual(directory.authenticate('c', 'x'), { errcode: 40001 });
  });
});

describe('simulator app endpoints never crash', () => {
  let sim: Simulator;
  let token: string;
  before(async () => {
    sim = await startAppSimulator({ chats: { chat1: ['zhangsan'] } });
    token = await tokenFor(sim);
  });
  after(() => sim.close());

  const bodies: Array<string | Blob> = [
    '',
    'null',
    '7',
    '"text"',
    '[]',
    '{"msgtype":"__proto__","__proto__":{}}',
    '{"msgtype":"constructor","touser":"zhangsan","agentid":1000002}',
    `{"touser":"zhangsan","agentid":${AGENT},"msgtype":"news","news":{"articles":[null,7,"x"]}}`,
    `{"touser":"zhangsan","agentid":${AGENT},"msgtype":"text","text":{"content":{"nested":true}}}`,
    `{"touser":"${'|'.repeat(5000)}","agentid":${AGENT},"msgtype":"text","text":{"content":"x"}}`,
    `{"chatid":"chat1","msgtype":"mpnews","mpnews":{"articles":[{"title":"t","content":"c","thumb_media_id":{}}]}}`,
    new Blob([new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x7d])]),
  ];
  const paths = [
    '/cgi-bin/gettoken',
    '/cgi-bin/message/send',
    '/cgi-bin/appchat/send',
    '/cgi-bin/media/upload',
    '/cgi-bin/media/get',
    '/cgi-bin/user/batchdelete',
    '/cgi-bin/department/delete',
  ];

  it('answers HTTP 200 JSON with an errcode to odd bodies and queries on every endpoint', async () => {
    for (const path of paths) {
      for (const body of bodies) {
        for (const query of [`access_token=${token}&type=file&media_id=%E0%A4%A&corpid=%ZZ`, 'access_token=%00&corpsecret[]=1']) {
          const response = await fetch(`${sim.url}${path}?${query}`, { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=x' }, body });
          assert.equal(response.status, 200, `${path} ${String(body)}`);
          const json = (await response.json()) as { errcode: unknown };
          assert.equal(typeof json.errcode, 'number');
          assert.notEqual(json.errcode, -1, `${path} answered system busy: an internal error`);
        }
      }
    }
    const health = await fetch(`${sim.url}/healthz`);
    assert.equal(health.status, 200);
    await health.text();
  });
});
