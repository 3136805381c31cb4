import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Simulator } from '../../lib/simulator/index.js';
import { AGENT, appPost, fakeClock, OTHER_CORP, OTHER_SECRET, sendMessage, startAppSimulator, textMessage, tokenFor, uploadAppMedia, USERS } from './app-helpers.js';
import { tinyPng } from './helpers.js';

describe('simulator app message/send', () => {
  const clock = fakeClock();
  let sim: Simulator;
  let token: string;
  before(async () => {
    sim = await startAppSimulator({ clock: clock.read });
  });
  after(() => sim.close());
  beforeEach(async () => {
    sim.reset();
    clock.now += 24 * 3_600_000; // fresh rate windows for every member (and so a fresh token)
    token = await tokenFor(sim);
  });

  const send = async (body: unknown): Promise<number> => (await sendMessage(sim, token, body)).json.errcode;
  const message = (msgtype: string, content: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    touser: 'zhangsan',
    agentid: AGENT,
    msgtype,
    [msgtype]: content,
    ...extra,
  });

  it('answers errcode 0 with invaliduser, invalidparty, invalidtag and a msgid, and records the message', async () => {
    const { status, json } = await sendMessage(sim, token, textMessage('zhangsan|lisi'));
    assert.equal(status, 200);
    assert.equal(json.errcode, 0);
    assert.equal(json.errmsg, 'ok');
    assert.equal(json.invaliduser, '');
    assert.equal(json.invalidparty, '');
    assert.equal(json.invalidtag, '');
    assert.equal(typeof json.msgid, 'string');
    const [record] = sim.appMessages();
    assert.equal(record?.path, '/cgi-bin/message/send');
    assert.equal(record?.agentId, AGENT);
    assert.deepEqual(record?.recipients, ['zhangsan', 'lisi']);
    assert.deepEqual(record?.dropped, []);
    assert.equal(record?.msgid, json.msgid);
    assert.equal(record?.errcode, 0);
    assert.equal(record?.at, clock.now);
    assert.deepEqual(record?.body, textMessage('zhangsan|lisi'));
  });

  describe('accepts every modelled msgtype', () => {
    const valid: Record<string, unknown> = {
      text: { content: '你好' },
      markdown: { content: '**加粗** <font color="info">ok</font>' },
      textcard: { title: '领奖通知', description: '<div class="gray">2016年9月26日</div>', url: 'https://example.com', btntxt: '更多' },
      news: { articles: [{ title: '中秋节礼品领取', url: 'https://example.com' }, { title: '小程序', appid: 'wx123', pagepath: 'pages/index' }] },
      template_card: { card_type: 'button_interaction', main_title: { title: 't' } },
      miniprogram_notice: { appid: 'wx123', title: '会议室预订成功通知' },
    };
    for (const [msgtype, content] of Object.entries(valid)) {
      it(msgtype, async () => {
        assert.equal(await send(message(msgtype, content)), 0);
      });
    }
  });

  it('template_card answers a response_code', async () => {
    const { json } = await sendMessage(sim, token, message('template_card', { card_type: 'text_notice' }));
    assert.equal(json.errcode, 0);
    assert.equal(typeof json.response_code, 'string');
  });

  it('40056 for a missing, non-integer or other app\'s agentid', async () => {
    assert.equal(await send({ touser: 'zhangsan', msgtype: 'text', text: { content: 'hi' } }), 40056);
    assert.equal(await send(textMessage('zhangsan', 'hi', null)), 40056);
    assert.equal(await send(textMessage('zhangsan', 'hi', String(AGENT))), 40056);
    assert.equal(await send(textMessage('zhangsan', 'hi', AGENT + 0.5)), 40056);
    assert.equal(await send(textMessage('zhangsan', 'hi', 1000005)), 40056);
  });

  it('40058 when touser, toparty and totag are all empty, not strings, or too long', async () => {
    assert.equal(await send({ agentid: AGENT, msgtype: 'text', text: { content: 'hi' } }), 40058);
    assert.equal(await send({ ...textMessage(''), toparty: '', totag: '' }), 40058);
    assert.equal(await send({ ...textMessage('|'), toparty: null }), 40058);
    assert.equal(await send({ ...textMessage('zhangsan'), toparty: 1 }), 40058);
    assert.equal(await send({ ...textMessage('zhangsan'), touser: ['zhangsan'] }), 40058);
    const ids = (count: number, prefix = 'u'): string => Array.from({ length: count }, (_, i) => `${prefix}${i}`).join('|');
    assert.equal(await send(textMessage(ids(1001))), 40058);
    assert.equal(await send({ ...textMessage(''), toparty: ids(101, '') }), 40058);
    assert.equal(await send({ ...textMessage(''), totag: ids(101, '') }), 40058);
    assert.equal(await send({ ...textMessage('zhangsan'), toparty: ids(100, '') }), 0);
  });

  it('40058 for a body that is not a JSON object, and for GET', async () => {
    assert.equal((await sendMessage(sim, token, '{"touser":')).json.errcode, 40058);
    assert.equal((await sendMessage(sim, token, '[1]')).json.errcode, 40058);
    const response = await fetch(`${sim.url}/cgi-bin/message/send?access_token=${token}`);
    assert.equal(((await response.json()) as { errcode: number }).errcode, 40058);
    assert.equal(sim.appMessages()[0]?.body, null);
  });

  it('40008 for a missing or unknown msgtype; 40058 when its object is missing', async () => {
    assert.equal(await send({ touser: 'zhangsan', agentid: AGENT, text: { content: 'hi' } }), 40008);
    assert.equal(await send(message('markdown_v2', { content: 'hi' })), 40008);
    assert.equal(await send(message('toString', {})), 40008);
    assert.equal(await send({ touser: 'zhangsan', agentid: AGENT, msgtype: 'text', markdown: { content: 'hi' } }), 40058);
  });

  it('text: 44004 when empty, 40058 when missing, 45002 over 2048 UTF-8 bytes', async () => {
    assert.equal(await send(textMessage('zhangsan', '')), 44004);
    assert.equal(await send(message('text', {})), 40058);
    assert.equal(await send(textMessage('zhangsan', '汉'.repeat(683))), 45002); // 2049 bytes
    assert.equal(await send(textMessage('zhangsan', '汉'.repeat(682))), 0);
  });

  it('markdown: 2048 bytes, not the robot\'s 4096', async () => {
    assert.equal(await send(message('markdown', { content: 'a'.repeat(2049) })), 45002);
    assert.equal(await send(message('markdown', { content: 'a'.repeat(2048) })), 0);
    assert.equal(await send(message('markdown', { content: '' })), 44004);
  });

  it('textcard: 40058 without title, description or url', async () => {
    const card = { title: 't', description: 'd', url: 'https://example.com' };
    for (const field of ['title', 'description', 'url']) {
      assert.equal(await send(message('textcard', { ...card, [field]: undefined })), 40058);
    }
  });

  it('news: 45008 over 8 articles, 40058 for none or an article without title or link', async () => {
    const article = { title: 't', url: 'https://example.com' };
    assert.equal(await send(message('news', { articles: Array(9).fill(article) })), 45008);
    assert.equal(await send(message('news', { articles: Array(8).fill(article) })), 0);
    assert.equal(await send(message('news', { articles: [] })), 40058);
    assert.equal(await send(message('news', { articles: [{ url: 'https://example.com' }] })), 40058);
    assert.equal(await send(message('news', { articles: [{ title: 't' }] })), 40058);
  });

  it('template_card: 40058 without a known card_type', async () => {
    assert.equal(await send(message('template_card', {})), 40058);
    assert.equal(await send(message('template_card', { card_type: 'poster' })), 40058);
  });

  it('image/voice/video/file: 40007 for an unknown media_id, 40058 for a missing one', async () => {
    for (const msgtype of ['image', 'voice', 'video', 'file']) {
      assert.equal(await send(message(msgtype, { media_id: 'made-up' })), 40007);
      assert.equal(await send(message(msgtype, {})), 40058);
    }
  });

  it('media: usable across apps of the same corp only, and by message type', async () => {
    const image = await uploadAppMedia(sim, token, 'image', tinyPng(), 'a.png');
    const file = await uploadAppMedia(sim, token, 'file', Buffer.from('quarterly report'));
    assert.equal(await send(message('image', { media_id: image.json.media_id })), 0);
    assert.equal(await send(message('file', { media_id: file.json.media_id })), 0);
    assert.equal(await send(message('file', { media_id: image.json.media_id })), 0);
    assert.equal(await send(message('image', { media_id: file.json.media_id })), 40007);
    assert.equal(await send(message('voice', { media_id: image.json.media_id })), 40007);
    const otherToken = await tokenFor(sim, OTHER_CORP, OTHER_SECRET);
    const foreign = { touser: 'x', agentid: 1000005, msgtype: 'file', file: { media_id: file.json.media_id } };
    assert.equal((await sendMessage(sim, otherToken, foreign)).json.errcode, 40007);
  });

  it('mpnews: thumb_media_id must be an uploaded image', async () => {
    const image = await uploadAppMedia(sim, token, 'image', tinyPng(), 'a.png');
    const article = { title: 't', content: '<p>body</p>', thumb_media_id: image.json.media_id };
    assert.equal(await send(message('mpnews', { articles: [article] })), 0);
    assert.equal(await send(message('mpnews', { articles: [{ ...article, thumb_media_id: 'made-up' }] })), 40007);
    assert.equal(await send(message('mpnews', { articles: [{ ...article, content: '' }] })), 40058);
    assert.equal(await send(message('mpnews', { articles: Array(9).fill(article) })), 45008);
  });

  it('invaliduser lists recipients outside the app; the rest receive it', async () => {
    const { json } = await sendMessage(sim, token, { ...textMessage('zhangsan|ghost|zhangsan|phantom'), toparty: '1|9|x', totag: '7|8' });
    assert.equal(json.errcode, 0);
    assert.equal(json.invaliduser, 'ghost|phantom');
    assert.equal(json.invalidparty, '9|x');
    assert.equal(json.invalidtag, '8');
    assert.deepEqual(sim.appMessages()[0]?.recipients, ['zhangsan']);
  });

  it('81013 when every recipient is invalid', async () => {
    const { json } = await sendMessage(sim, token, { ...textMessage('ghost'), toparty: '9', totag: '8' });
    assert.equal(json.errcode, 81013);
    assert.equal(json.invaliduser, 'ghost');
    assert.equal(sim.appMessages()[0]?.errcode, 81013);
    // a valid department alone is enough
    assert.equal(await send({ ...textMessage('ghost'), toparty: '2' }), 0);
  });

  it('@all reaches every user of the app and ignores toparty/totag', async () => {
    const { json } = await sendMessage(sim, token, { ...textMessage('@all'), toparty: '9', totag: '8' });
    assert.equal(json.errcode, 0);
    assert.equal(json.invalidparty, '');
    assert.deepEqual(sim.appMessages()[0]?.recipients, USERS);
  });

  it('@all without configured users is the pseudo-member "@all"', async () => {
    const otherToken = await tokenFor(sim, OTHER_CORP, OTHER_SECRET);
    const { json } = await sendMessage(sim, otherToken, { touser: '@all', agentid: 1000005, msgtype: 'text', text: { content: 'hi' } });
    assert.equal(json.errcode, 0);
    assert.deepEqual(sim.appMessages()[0]?.recipients, ['@all']);
    // and any userid is valid
    assert.equal((await sendMessage(sim, otherToken, { touser: 'anyone', agentid: 1000005, msgtype: 'text', text: { content: 'hi' } })).json.invaliduser, '');
  });

  it('silently drops the 31st message to a member within a minute, still answering errcode 0', async () => {
    for (let i = 1; i <= 30; i++) assert.equal(await send(textMessage('zhangsan', `message ${i}`)), 0);
    const { json } = await sendMessage(sim, token, textMessage('zhangsan|lisi', 'message 31'));
    assert.equal(json.errcode, 0);
    assert.equal(typeof json.msgid, 'string');
    const last = sim.appMessages().at(-1);
    assert.deepEqual(last?.recipients, ['lisi']);
    assert.deepEqual(last?.dropped, ['zhangsan']);
    assert.equal(last?.errcode, 0);
    // the limit is per member and rolling: 60 s after the first message zhangsan receives again
    clock.now += 60_000;
    await send(textMessage('zhangsan'));
    assert.deepEqual(sim.appMessages().at(-1)?.recipients, ['zhangsan']);
  });

  it('silently drops past 1000 messages to a member within an hour', async () => {
    for (let minute = 0; minute < 34; minute++) {
      for (let i = 0; i < 30 && minute * 30 + i < 1000; i++) await send(textMessage('wangwu'));
      clock.now += 60_000;
    }
    const messages = sim.appMessages();
    assert.equal(messages.length, 1000);
    assert.ok(messages.every((record) => record.dropped.length === 0));
    await send(textMessage('wangwu'));
    assert.deepEqual(sim.appMessages().at(-1)?.dropped, ['wangwu']);
    clock.now += 3_600_000;
    await send(textMessage('wangwu'));
    assert.deepEqual(sim.appMessages().at(-1)?.recipients, ['wangwu']);
  });

  it('failNext applies to message/send, and is recorded', async () => {
    sim.failNext(1, 45033);
    assert.equal(await send(textMessage('zhangsan')), 45033);
    assert.equal(await send(textMessage('zhangsan')), 0);
    assert.deepEqual(sim.appMessages().map((record) => record.errcode), [45033, 0]);
  });

  it('POST /__sim/fail with a path, and GET /__sim/app-messages', async () => {
    const fail = await fetch(`${sim.url}/__sim/fail`, { method: 'POST', body: JSON.stringify({ count: 1, errcode: -1, path: '/cgi-bin/message/send' }) });
    assert.equal(fail.status, 200);
    await fail.text();
    assert.equal(await send(textMessage('zhangsan')), -1);
    assert.equal(await send(textMessage('zhangsan')), 0);
    const listed = (await (await fetch(`${sim.url}/__sim/app-messages`)).json()) as { messages: Array<{ errcode: number; recipients: string[] }> };
    assert.deepEqual(listed.messages.map((record) => record.errcode), [-1, 0]);
    assert.deepEqual(listed.messages[1]?.recipients, ['zhangsan']);
    const badPath = await fetch(`${sim.url}/__sim/fail`, { method: 'POST', body: JSON.stringify({ count: 1, path: 7 }) });
    assert.equal(badPath.status, 400);
    await badPath.text();
  });

  it('HTTP 404 for an app path WeCom does not serve', async () => {
    const raw = await fetch(`${sim.url}/cgi-bin/message/sendx?access_token=${token}`, { method: 'POST', body: '{}' });
    assert.equal(raw.status, 404);
    await raw.text();
  });
});

describe('simulator app appchat/send', () => {
  let sim: Simulator;
  let token: string;
  before(async () => {
    sim = await startAppSimulator({ chats: { chat1: ['zhangsan', 'lisi'] } });
    token = await tokenFor(sim);
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  const chat = (body: unknown): Promise<number> => appPost(sim, '/cgi-bin/appchat/send', token, body).then((answer) => answer.json.errcode);

  it('delivers to a known chat, answers only errcode and errmsg, and records the members', async () => {
    const { json } = await appPost(sim, '/cgi-bin/appchat/send', token, { chatid: 'chat1', msgtype: 'text', text: { content: 'hi' }, safe: 0 });
    assert.deepEqual(json, { errcode: 0, errmsg: 'ok' });
    const [record] = sim.appMessages();
    assert.equal(record?.path, '/cgi-bin/appchat/send');
    assert.equal(record?.chatid, 'chat1');
    assert.equal(record?.agentId, AGENT);
    assert.deepEqual(record?.recipients, ['zhangsan', 'lisi']);
  });

  it('86003 for an unknown chat, 40058 without a chatid', async () => {
    assert.equal(await chat({ chatid: 'nope', msgtype: 'text', text: { content: 'hi' } }), 86003);
    assert.equal(await chat({ msgtype: 'text', text: { content: 'hi' } }), 40058);
    assert.equal(await chat({ chatid: 7, msgtype: 'text', text: { content: 'hi' } }), 40058);
  });

  it('applies the message/send msgtype rules', async () => {
    assert.equal(await chat({ chatid: 'chat1', msgtype: 'text', text: { content: '' } }), 44004);
    assert.equal(await chat({ chatid: 'chat1', msgtype: 'text', text: { content: 'a'.repeat(2049) } }), 45002);
    assert.equal(await chat({ chatid: 'chat1', msgtype: 'link', link: {} }), 40008);
    assert.equal(await chat({ chatid: 'chat1', msgtype: 'file', file: { media_id: 'made-up' } }), 40007);
  });

  it('drops past 200 messages per member per minute', async () => {
    for (let i = 0; i < 200; i++) assert.equal(await chat({ chatid: 'chat1', msgtype: 'text', text: { content: `m${i}` } }), 0);
    assert.equal(await chat({ chatid: 'chat1', msgtype: 'text', text: { content: 'm200' } }), 0);
    assert.deepEqual(sim.appMessages().at(-1)?.dropped, ['zhangsan', 'lisi']);
  });

  it('accepts any chatid when no chats are configured', async () => {
    const open = await startAppSimulator();
    try {
      const openToken = await tokenFor(open);
      const { json } = await appPost(open, '/cgi-bin/appchat/send', openToken, { chatid: 'whatever', msgtype: 'text', text: { content: 'hi' } });
      assert.equal(json.errcode, 0);
      assert.deepEqual(open.appMessages()[0]?.recipients, []);
    } finally {
      await open.close();
    }
  });
});
