import type { WSClient, WsFrame } from '@wecom/aibot-node-sdk';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { until } from '../helpers.js';
import { fakeClock } from './app-helpers.js';
import { BOT, connect, errcodeOf, next, OTHER_BOT, RawBot, sdkClient } from './bot-helpers.js';
import { tinyPng } from './helpers.js';

// What a subscribed bot sends: replies tied to callbacks by req_id, streams and their expiry,
// proactive sends, uploads, and injected faults. Time moves on a fake clock, never by sleeping.

const SIX_MINUTES = 6 * 60 * 1000;

describe('simulator bot replies and sends', () => {
  let sim: Simulator;
  let client: WSClient;
  const clock = fakeClock();
  const raws: RawBot[] = [];
  before(async () => {
    sim = await startSimulator({ quiet: true, bots: [BOT, OTHER_BOT], clock: clock.read });
    client = await connect(sdkClient(sim));
  });
  after(async () => {
    client.disconnect();
    await sim.close();
  });
  beforeEach(() => sim.reset());
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.close();
    await until('raw connections to close', () => sim.botConnections(OTHER_BOT.botId) === 0);
  });

  /** Pushes a callback to the SDK client and resolves with the frame it emitted. */
  const callback = async (body: Record<string, unknown> = {}, cmd?: 'aibot_event_callback'): Promise<WsFrame> => {
    const frame = next(client, cmd ? 'event' : 'message');
    sim.botCallback(BOT.botId, body, cmd);
    return frame;
  };
  const raw = async (): Promise<RawBot> => {
    const bot = await RawBot.subscribed(sim, OTHER_BOT);
    raws.push(bot);
    return bot;
  };

  it('a message callback reaches the SDK, and a stream in answer is accepted frame by frame', async () => {
    const frame = await callback({ text: { content: 'status?' } });
    assert.equal(frame.body?.text?.content, 'status?');
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-1', '<think></think>')), 0);
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-1', 'All green.', true)), 0);
    assert.deepEqual(
      sim.botStreams(BOT.botId).map(({ req_id, streamId, content, finished, frames }) => ({ req_id, streamId, content, finished, frames })),
      [{ req_id: frame.headers.req_id, streamId: 'st-1', content: 'All green.', finished: true, frames: 2 }],
    );
    // A finished stream takes no more frames.
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-1', 'again', true)), 40058);
    assert.deepEqual(sim.botFrames(BOT.botId).map((f) => f.errcode), [0, 0, 40058]);
  });

  it('a reply whose req_id is no message callback of this bot answers 846605', async () => {
    const bot = await raw();
    const stream = { msgtype: 'stream', stream: { id: 's', content: 'hi' } };
    assert.equal((await bot.request('aibot_respond_msg', stream, 'aibot_msg_callback_made_up')).errcode, 846605);
    // Another bot's callback is as unknown.
    const frame = await callback();
    assert.equal((await bot.request('aibot_respond_msg', stream, frame.headers.req_id)).errcode, 846605);
    // An event callback cannot be answered with aibot_respond_msg (the plugin sends instead).
    const event = await callback({ event: { eventtype: 'enter_chat' } }, 'aibot_event_callback');
    assert.equal(await errcodeOf(client.replyStream(event, 'st-2', 'hello', true)), 846605);
  });

  it('a stream frame more than 6 minutes after its callback answers 846608, not before', async () => {
    const frame = await callback();
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-3', 'thinking')), 0);
    clock.now += SIX_MINUTES;
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-3', 'still thinking')), 0);
    clock.now += 1000;
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-3', 'too late', true)), 846608);
    assert.equal(sim.botStreams(BOT.botId)[0]?.content, 'still thinking');
  });

  it('welcome replies answer enter_chat and card updates answer template_card_event, within 5 s', async () => {
    const enter = await callback({ event: { eventtype: 'enter_chat' } }, 'aibot_event_callback');
    assert.equal(await errcodeOf(client.replyWelcome(enter, { msgtype: 'text', text: { content: 'Welcome!' } })), 0);
    const card = { card_type: 'text_notice', main_title: { title: 'Done' } };
    assert.equal(await errcodeOf(client.updateTemplateCard(enter, card)), 846605);
    const click = await callback({ event: { eventtype: 'template_card_event', template_card_event: { task_id: 't1' } } }, 'aibot_event_callback');
    assert.equal(await errcodeOf(client.updateTemplateCard(click, card, ['sim-user'])), 0);
    clock.now += 5001;
    assert.equal(await errcodeOf(client.updateTemplateCard(click, card)), 846605);
    const message = await callback();
    assert.equal(await errcodeOf(client.replyWelcome(message, { msgtype: 'text', text: { content: 'Welcome!' } })), 846605);
  });

  it('aibot_send_msg: needs a chatid; markdown up to 20480 bytes; stream content too', async () => {
    const markdown = (content: string) => ({ msgtype: 'markdown' as const, markdown: { content } });
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown('**hi**'))), 0);
    assert.equal(await errcodeOf(client.sendMessage('', markdown('hi'))), 40058);
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown('x'.repeat(20480)))), 0);
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown('测'.repeat(6827)))), 40058); // 20481 bytes
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown(''))), 44004);
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', { msgtype: 'text', text: { content: 'hi' } } as never)), 40008);
    const frame = await callback();
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-4', 'y'.repeat(20481))), 40058);
    const bot = await raw();
    const biz = { biz_type: 1, chat_type: 2, chat_id: 'wrkSFfCgAA' };
    assert.equal((await bot.request('aibot_send_biz_msg', biz)).errcode, 0);
    assert.equal((await bot.request('aibot_send_biz_msg', { ...biz, chat_id: undefined })).errcode, 40058);
    assert.equal((await bot.request('aibot_get_everything', {})).errcode, 40058);
  });

  it('a stream may end with inline images, checked like the webhook\'s', async () => {
    const frame = await callback();
    const png = tinyPng();
    const image = { base64: png.toString('base64'), md5: createHash('md5').update(png).digest('hex') };
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-5', 'chart:', true, [{ msgtype: 'image', image: { ...image, md5: '0'.repeat(32) } }])), 40058);
    assert.equal(await errcodeOf(client.replyStream(frame, 'st-5', 'chart:', true, [{ msgtype: 'image', image }])), 0);
  });

  it('uploadMedia: init, chunks and finish give a media_id this bot can send', async () => {
    const bytes = Buffer.alloc(700 * 1024, 7); // two 512 KiB chunks
    const uploaded = await client.uploadMedia(bytes, { type: 'file', filename: 'report.bin' });
    assert.equal(uploaded.type, 'file');
    assert.match(uploaded.media_id, /^3/);
    assert.deepEqual(sim.botFrames(BOT.botId).map((f) => f.cmd), ['aibot_upload_media_init', 'aibot_upload_media_chunk', 'aibot_upload_media_chunk', 'aibot_upload_media_finish']);
    assert.equal(await errcodeOf(client.sendMediaMessage('zhangsan', 'file', uploaded.media_id)), 0);
    assert.equal(await errcodeOf(client.sendMediaMessage('zhangsan', 'file', 'made-up')), 40007);
    // Another bot cannot use it.
    const bot = await raw();
    assert.equal((await bot.request('aibot_send_msg', { chatid: 'zhangsan', msgtype: 'file', file: { media_id: uploaded.media_id } })).errcode, 40007);
  });

  it('upload finish checks the chunks, the size and the md5 against init', async () => {
    const bot = await raw();
    const data = Buffer.from('quarterly numbers');
    const md5 = createHash('md5').update(data).digest('hex');
    const init = async (overrides: Record<string, unknown> = {}) => {
      const answer = await bot.request('aibot_upload_media_init', { type: 'file', filename: 'q.txt', total_size: data.length, total_chunks: 1, md5, ...overrides });
      assert.equal(answer.errcode, 0);
      return answer.body?.upload_id as string;
    };
    const chunk = (uploadId: string, bytes: Buffer, index = 0) => bot.request('aibot_upload_media_chunk', { upload_id: uploadId, chunk_index: index, base64_data: bytes.toString('base64') });
    const finish = (uploadId: string) => bot.request('aibot_upload_media_finish', { upload_id: uploadId });

    const wrongMd5 = await init({ md5: 'f'.repeat(32) });
    assert.equal((await chunk(wrongMd5, data)).errcode, 0);
    assert.equal((await finish(wrongMd5)).errcode, 40058);

    const tooBig = await init({ total_size: 6 });
    assert.equal((await chunk(tooBig, data)).errcode, 40006);

    const missing = await init({ total_chunks: 2 });
    assert.equal((await chunk(missing, data.subarray(0, 8))).errcode, 0);
    assert.equal((await finish(missing)).errcode, 40058);
    assert.equal((await chunk(missing, data, 2)).errcode, 40058); // chunk_index is 0-based, below total_chunks

    const good = await init();
    assert.equal((await chunk(good, data)).errcode, 0);
    const done = await finish(good);
    assert.equal(done.errcode, 0);
    assert.equal(done.body?.type, 'file');
    assert.equal(typeof done.body?.media_id, 'string');
    assert.equal((await finish(good)).errcode, 40058); // finished once only
    assert.equal((await bot.request('aibot_upload_media_init', { type: 'exe', filename: 'x', total_size: 9, total_chunks: 1, md5 })).errcode, 40004);
  });

  it('failNextBot: the next frames get the injected errcode, then WeCom recovers', async () => {
    sim.failNextBot(2, 45009);
    sim.failNextBot(1, -1, 'aibot_send_biz_msg');
    const markdown = { msgtype: 'markdown' as const, markdown: { content: 'hi' } };
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown)), 45009);
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown)), 45009);
    assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown)), 0);
    const bot = await raw();
    assert.equal((await bot.request('ping')).errcode, 0); // pings never take a fault
    assert.equal((await bot.request('aibot_send_biz_msg', { biz_type: 1, chat_type: 1, userid: 'zhangsan' })).errcode, -1);
    assert.deepEqual(sim.botFrames().map((f) => f.injected ?? false), [true, true, false, true]);
    assert.throws(() => sim.failNextBot(-1), RangeError);
  });
});

describe('simulator bot rate (botRatePerMinute)', () => {
  it('is off by default; when set, refuses with 45009 past N messages a rolling minute, a stream counting once', async () => {
    const clock = fakeClock();
    const sim = await startSimulator({ quiet: true, bots: [BOT], botRatePerMinute: 2, clock: clock.read });
    const client = await connect(sdkClient(sim));
    try {
      const markdown = { msgtype: 'markdown' as const, markdown: { content: 'hi' } };
      const frame = next(client, 'message');
      sim.botCallback(BOT.botId);
      const message = await frame;
      assert.equal(await errcodeOf(client.replyStream(message, 's', 'a')), 0);
      assert.equal(await errcodeOf(client.replyStream(message, 's', 'ab', true)), 0);
      assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown)), 0);
      assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown)), 45009);
      clock.now += 60_000;
      assert.equal(await errcodeOf(client.sendMessage('zhangsan', markdown)), 0);
    } finally {
      client.disconnect();
      await sim.close();
    }
  });
});
