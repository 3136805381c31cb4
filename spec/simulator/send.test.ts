import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { KEY, md5, OTHER_KEY, send, text, tinyPng, uploadMedia } from './helpers.js';

describe('simulator webhook/send', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ quiet: true, ratePerMinute: 0 });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());

  describe('accepts a valid message of every msgtype', () => {
    const png = tinyPng();
    const valid: Record<string, unknown> = {
      text: { msgtype: 'text', text: { content: '你好 <@zhangsan>', mentioned_list: ['@all'], mentioned_mobile_list: ['13800001111'] } },
      markdown: { msgtype: 'markdown', markdown: { content: '# 标题\n<font color="info">ok</font>' } },
      markdown_v2: { msgtype: 'markdown_v2', markdown_v2: { content: '| a | b |\n|---|---|\n| 1 | 2 |' } },
      image: { msgtype: 'image', image: { base64: png.toString('base64'), md5: md5(png).toUpperCase() } },
      news: { msgtype: 'news', news: { articles: [{ title: '中秋节礼品领取', url: 'https://example.com', picurl: 'https://example.com/a.png' }] } },
      template_card: {
        msgtype: 'template_card',
        template_card: { card_type: 'text_notice', main_title: { title: '告警' }, card_action: { type: 1, url: 'https://example.com' } },
      },
    };
    for (const [msgtype, body] of Object.entries(valid)) {
      it(msgtype, async () => {
        const { json } = await send(sim, body);
        assert.equal(json.errcode, 0);
        assert.equal(json.errmsg, 'ok');
        assert.equal(sim.delivered(KEY).length, 1);
      });
    }

    for (const msgtype of ['file', 'voice']) {
      it(`${msgtype} with a media_id uploaded by the same robot`, async () => {
        const bytes = msgtype === 'voice' ? Buffer.from('#!AMR\n0123456789') : Buffer.from('quarterly report');
        const uploaded = await uploadMedia(sim, msgtype, bytes);
        assert.equal(uploaded.json.errcode, 0);
        const { json } = await send(sim, { msgtype, [msgtype]: { media_id: uploaded.json.media_id } });
        assert.equal(json.errcode, 0);
      });
    }
  });

  it('answers HTTP 200 with WeCom JSON, even on failure', async () => {
    const result = await send(sim, text('hi'), '00000000-0000-0000-0000-00000000000g');
    assert.equal(result.status, 200);
    assert.equal(result.contentType, 'application/json; charset=UTF-8');
    assert.equal(result.json.errcode, 93000);
    assert.match(result.json.errmsg, /hint: \[\d{25}\], from ip: 127\.0\.0\.1, more info at https:\/\/open\.work\.weixin\.qq\.com\/devtool\/query\?e=93000$/);
  });

  it('93000 for a missing key and for one that is not a WeCom key', async () => {
    const missing = await fetch(`${sim.url}/cgi-bin/webhook/send`, { method: 'POST', body: JSON.stringify(text('hi')) });
    assert.equal(((await missing.json()) as { errcode: number }).errcode, 93000);
    const pastedUrl = encodeURIComponent(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}`);
    assert.equal((await send(sim, text('hi'), pastedUrl)).json.errcode, 93000);
  });

  it('93000 for a key outside an explicit key list', async () => {
    const listed = await startSimulator({ quiet: true, keys: ['robot-a'] });
    try {
      assert.equal((await send(listed, text('hi'), 'robot-a')).json.errcode, 0);
      assert.equal((await send(listed, text('hi'), KEY)).json.errcode, 93000);
    } finally {
      await listed.close();
    }
  });

  it('40058 for a body that is not JSON, not UTF-8, not an object, or too large', async () => {
    assert.equal((await send(sim, '{"msgtype":"text",')).json.errcode, 40058);
    assert.equal((await send(sim, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).json.errcode, 40058);
    assert.equal((await send(sim, '[1,2]')).json.errcode, 40058);
    assert.equal((await send(sim, 'x'.repeat(5 * 1024 * 1024))).json.errcode, 40058);
  });

  it('40008 for a missing or unknown msgtype', async () => {
    assert.equal((await send(sim, { text: { content: 'hi' } })).json.errcode, 40008);
    assert.equal((await send(sim, { msgtype: 'video', video: {} })).json.errcode, 40008);
    assert.equal((await send(sim, { msgtype: 7 })).json.errcode, 40008);
  });

  it('40058 when the object named by msgtype is missing', async () => {
    assert.equal((await send(sim, { msgtype: 'text', markdown: { content: 'hi' } })).json.errcode, 40058);
  });

  it('text: 44004 when empty, 40058 when missing or over 2048 UTF-8 bytes', async () => {
    assert.equal((await send(sim, text(''))).json.errcode, 44004);
    assert.equal((await send(sim, { msgtype: 'text', text: {} })).json.errcode, 40058);
    const cjk = '汉'.repeat(683); // 683 characters, 2049 bytes
    assert.ok(cjk.length < 2048);
    assert.equal((await send(sim, text(cjk))).json.errcode, 40058);
    assert.equal((await send(sim, text('汉'.repeat(682)))).json.errcode, 0);
  });

  it('text: 40058 when a mention list is not an array of strings', async () => {
    assert.equal((await send(sim, { msgtype: 'text', text: { content: 'hi', mentioned_list: '@all' } })).json.errcode, 40058);
    assert.equal((await send(sim, { msgtype: 'text', text: { content: 'hi', mentioned_mobile_list: [138] } })).json.errcode, 40058);
  });

  it('markdown and markdown_v2: 40058 over 4096 UTF-8 bytes, 44004 when empty', async () => {
    const overLimit = '中'.repeat(1400); // 4200 bytes
    for (const msgtype of ['markdown', 'markdown_v2']) {
      assert.equal((await send(sim, { msgtype, [msgtype]: { content: overLimit } })).json.errcode, 40058);
      assert.equal((await send(sim, { msgtype, [msgtype]: { content: '' } })).json.errcode, 44004);
      assert.equal((await send(sim, { msgtype, [msgtype]: { content: 'a'.repeat(4096) } })).json.errcode, 0);
    }
  });

  it('news: 45008 over 8 articles, 40058 for none or a missing title/url', async () => {
    const article = { title: 't', url: 'https://example.com' };
    const news = (articles: unknown): unknown => ({ msgtype: 'news', news: { articles } });
    assert.equal((await send(sim, news(Array(9).fill(article)))).json.errcode, 45008);
    assert.equal((await send(sim, news(Array(8).fill(article)))).json.errcode, 0);
    assert.equal((await send(sim, news([]))).json.errcode, 40058);
    assert.equal((await send(sim, { msgtype: 'news', news: {} })).json.errcode, 40058);
    assert.equal((await send(sim, news([{ url: 'https://example.com' }]))).json.errcode, 40058);
    assert.equal((await send(sim, news([{ title: 't' }]))).json.errcode, 40058);
  });

  it('image: 40058 for a wrong md5, bad base64, a non-image, or over 2 MB', async () => {
    const png = tinyPng();
    const image = (bytes: Buffer, hash = md5(bytes), base64 = bytes.toString('base64')): unknown => ({ msgtype: 'image', image: { base64, md5: hash } });
    assert.equal((await send(sim, image(png, md5(Buffer.from('other'))))).json.errcode, 40058);
    assert.equal((await send(sim, image(png, md5(png), `${png.toString('base64')}!!`))).json.errcode, 40058);
    assert.equal((await send(sim, image(Buffer.from('GIF89a-not-allowed')))).json.errcode, 40058);
    const huge = Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]);
    assert.equal((await send(sim, image(huge))).json.errcode, 40058);
    assert.equal((await send(sim, { msgtype: 'image', image: { md5: md5(png) } })).json.errcode, 40058);
  });

  it('file: 40007 for a media_id uploaded by another robot, unknown, or missing → 40058', async () => {
    const uploaded = await uploadMedia(sim, 'file', Buffer.from('quarterly report'), OTHER_KEY);
    assert.equal(uploaded.json.errcode, 0);
    assert.equal((await send(sim, { msgtype: 'file', file: { media_id: uploaded.json.media_id } })).json.errcode, 40007);
    assert.equal((await send(sim, { msgtype: 'file', file: { media_id: 'made-up' } })).json.errcode, 40007);
    assert.equal((await send(sim, { msgtype: 'file', file: {} })).json.errcode, 40058);
  });

  it('40058 for a method other than POST', async () => {
    const response = await fetch(`${sim.url}/cgi-bin/webhook/send?key=${KEY}`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { errcode: number }).errcode, 40058);
  });

  it('HTTP 404 for a path WeCom does not serve', async () => {
    const response = await fetch(`${sim.url}/cgi-bin/webhook/sendx?key=${KEY}`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 404);
    await response.text();
  });

  it('records every request with the errcode answered', async () => {
    await send(sim, text('one'));
    await send(sim, text(''));
    await send(sim, '{bad');
    const received = sim.received(KEY);
    assert.deepEqual(received.map((message) => message.errcode), [0, 44004, 40058]);
    assert.deepEqual(received[0]?.body, text('one'));
    assert.equal(received[2]?.raw, '{bad');
    assert.equal(received[2]?.body, null);
    assert.deepEqual(sim.delivered(KEY).map((message) => message.raw), [JSON.stringify(text('one'))]);
  });
});
