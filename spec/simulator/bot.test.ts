import { WSAuthFailureError, type WSClient } from '@wecom/aibot-node-sdk';
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startSimulator, type BotFrame, type BotSubscribe, type Simulator } from '../../lib/simulator/index.js';
import { until } from '../helpers.js';
import { BOT, connect, errcodeOf, next, OTHER_BOT, RawBot, sdkClient, sha256 } from './bot-helpers.js';

// The bot long connection: subscribe, heartbeat, one connection per bot, drops, and the control
// endpoints. Replies, streams and uploads are in bot-replies.test.ts.

describe('simulator bot connection', () => {
  let sim: Simulator;
  const open: Array<WSClient | RawBot> = [];
  const track = <T extends WSClient | RawBot>(client: T): T => {
    open.push(client);
    return client;
  };
  before(async () => {
    sim = await startSimulator({ quiet: true, bots: [BOT, OTHER_BOT] });
  });
  after(() => sim.close());
  beforeEach(() => sim.reset());
  afterEach(async () => {
    for (const client of open.splice(0)) {
      if (client instanceof RawBot) client.close();
      else client.disconnect();
    }
    // The simulator sees a client's close a moment later; the next test must start with none.
    await until('bot connections to close', () => sim.botConnections(BOT.botId) + sim.botConnections(OTHER_BOT.botId) === 0);
  });

  it('subscribes with the right secret, and records only its hash', async () => {
    await connect(track(sdkClient(sim)));
    assert.equal(sim.botConnections(BOT.botId), 1);
    const [attempt] = sim.subscribes(BOT.botId);
    assert.deepEqual({ ...attempt, at: 0 }, { botId: BOT.botId, ok: true, secretMatches: true, secretSha256: sha256(BOT.secret), at: 0 });
    assert.ok(!JSON.stringify(sim.subscribes()).includes(BOT.secret));
  });

  it('refuses a wrong secret with 40001 and closes; the SDK reports an auth failure', async () => {
    const client = track(sdkClient(sim, { secret: 'not-the-secret' }));
    const errors: Error[] = [];
    client.on('error', (error: Error) => errors.push(error));
    client.connect();
    await until('the SDK to give up', () => errors.some((error) => error instanceof WSAuthFailureError));
    assert.equal(sim.botConnections(BOT.botId), 0);
    assert.deepEqual(
      sim.subscribes().map(({ ok, secretMatches, secretSha256 }) => ({ ok, secretMatches, secretSha256 })),
      [{ ok: false, secretMatches: false, secretSha256: sha256('not-the-secret') }],
    );

    const raw = track(await RawBot.open(sim));
    const answer = await raw.request('aibot_subscribe', { bot_id: BOT.botId, secret: 'not-the-secret' });
    assert.equal(answer.errcode, 40001);
    assert.equal(typeof (await raw.closed), 'number');
  });

  it('refuses an unknown bot, a subscribe without a secret, and any frame before subscribe', async () => {
    const attempts: Array<[string, unknown]> = [
      ['aibot_subscribe', { bot_id: 'no-such-bot', secret: BOT.secret }],
      ['aibot_subscribe', { bot_id: BOT.botId }],
      ['ping', undefined],
      ['aibot_send_msg', { chatid: 'zhangsan', msgtype: 'markdown', markdown: { content: 'hi' } }],
    ];
    for (const [cmd, body] of attempts) {
      const raw = track(await RawBot.open(sim));
      assert.equal((await raw.request(cmd, body)).errcode, 40001, cmd);
      await raw.closed;
    }
    const garbage = track(await RawBot.open(sim));
    garbage.send('{not json');
    assert.equal((await garbage.next()).errcode, 40001);
    await garbage.closed;
    assert.deepEqual(
      sim.subscribes().map(({ botId, ok, secretSha256 }) => ({ botId, ok, secretSha256 })),
      [
        { botId: 'no-such-bot', ok: false, secretSha256: sha256(BOT.secret) },
        { botId: BOT.botId, ok: false, secretSha256: null },
      ],
    );
    assert.deepEqual(sim.botFrames(), []);
  });

  it('acks ping with its req_id and keeps pings out of botFrames', async () => {
    const raw = track(await RawBot.subscribed(sim));
    const answer = await raw.request('ping', undefined, 'ping_1_abc');
    assert.deepEqual(answer, { headers: { req_id: 'ping_1_abc' }, errcode: 0, errmsg: 'ok' });
    assert.deepEqual(sim.botFrames(), []);
  });

  it('refuses a second subscribe on a subscribed connection, and garbage, without closing it', async () => {
    const raw = track(await RawBot.subscribed(sim));
    assert.equal((await raw.request('aibot_subscribe', { bot_id: BOT.botId, secret: BOT.secret })).errcode, 40058);
    raw.send('{not json');
    const answer = await raw.next();
    assert.equal(answer.errcode, 40058);
    assert.equal(answer.headers.req_id, '');
    raw.send(Buffer.from([1, 2, 3]));
    assert.equal((await raw.next()).errcode, 40058);
    assert.equal((await raw.request('ping')).errcode, 0);
    assert.deepEqual(
      sim.botFrames().map((frame: BotFrame) => [frame.cmd, frame.errcode]),
      [['aibot_subscribe', 40058], ['', 40058], ['', 40058]],
    );
  });

  it('a second connection for the same bot: the older one gets disconnected_event and is closed', async () => {
    const older = await connect(track(sdkClient(sim)));
    const event = next(older, 'event.disconnected_event');
    const disconnected = next(older, 'disconnected');
    const newer = await connect(track(sdkClient(sim)));
    const frame = await event;
    assert.equal(frame.cmd, 'aibot_event_callback');
    assert.ok(frame.body);
    assert.equal(frame.body.msgtype, 'event');
    assert.equal(frame.body.aibotid, BOT.botId);
    assert.equal(typeof frame.body.msgid, 'string');
    assert.equal(typeof frame.body.create_time, 'number');
    await disconnected;
    assert.equal(sim.botConnections(BOT.botId), 1);
    // Callbacks now go to the newer connection.
    const message = next(newer, 'message');
    const reqId = sim.botCallback(BOT.botId);
    assert.equal((await message).headers.req_id, reqId);
    // The raw view: the event, then a close.
    const raw = track(await RawBot.subscribed(sim, OTHER_BOT));
    track(await RawBot.subscribed(sim, OTHER_BOT));
    const pushed = await raw.next();
    assert.equal((pushed.body?.event as { eventtype?: string } | undefined)?.eventtype, 'disconnected_event');
    assert.equal(await raw.closed, 1000);
  });

  it('dropBot closes the connection from WeCom\'s side; the SDK reconnects', async () => {
    const client = await connect(track(sdkClient(sim, { maxReconnectAttempts: 1, reconnectInterval: 1 })));
    const back = next(client, 'authenticated');
    assert.equal(sim.dropBot(BOT.botId), 1);
    await back;
    await until('the bot to be subscribed again', () => sim.botConnections(BOT.botId) === 1);
    assert.equal(sim.subscribes(BOT.botId).length, 2);
    const raw = track(await RawBot.subscribed(sim, OTHER_BOT));
    assert.equal(sim.dropBot(OTHER_BOT.botId, 'terminate'), 1);
    assert.equal(await raw.closed, 1006);
    assert.equal(sim.dropBot('no-such-bot'), 0);
  });

  it('botCallback fills WeCom\'s fields and throws when the bot has no connection', async () => {
    assert.throws(() => sim.botCallback(BOT.botId), /no subscribed connection/);
    const raw = track(await RawBot.subscribed(sim));
    const reqId = sim.botCallback(BOT.botId, { chattype: 'group', chatid: 'wrkSFfCgAA', text: { content: 'hi' } });
    const pushed = await raw.next();
    assert.equal(pushed.cmd, 'aibot_msg_callback');
    assert.equal(pushed.headers.req_id, reqId);
    assert.deepEqual({ ...pushed.body, msgid: 'x', create_time: 0 }, {
      msgid: 'x',
      aibotid: BOT.botId,
      create_time: 0,
      chattype: 'group',
      chatid: 'wrkSFfCgAA',
      from: { userid: 'sim-user' },
      msgtype: 'text',
      text: { content: 'hi' },
    });
    sim.botCallback(BOT.botId, { event: { eventtype: 'enter_chat' } }, 'aibot_event_callback');
    assert.equal((await raw.next()).body?.msgtype, 'event');
    assert.throws(() => sim.botCallback(BOT.botId, {}, 'aibot_subscribe' as never), RangeError);
  });

  it('reset clears bot records but keeps the connection subscribed', async () => {
    const raw = track(await RawBot.subscribed(sim));
    const reqId = sim.botCallback(BOT.botId);
    await raw.next();
    sim.reset();
    assert.deepEqual(sim.subscribes(), []);
    assert.equal(sim.botConnections(BOT.botId), 1);
    // The callback is forgotten too: its req_id is no longer valid.
    assert.equal((await raw.request('aibot_respond_msg', { msgtype: 'stream', stream: { id: 's', content: 'x' } }, reqId)).errcode, 846605);
  });

  it('close() does not wait for open bot connections', async () => {
    const other = await startSimulator({ quiet: true, bots: [BOT] });
    const raw = await RawBot.subscribed(other);
    await other.close();
    assert.equal(await raw.closed, 1006);
  });

  it('refuses bad bot options', async () => {
    await assert.rejects(startSimulator({ bots: [BOT, { ...BOT, secret: 'x' }] }), RangeError);
    await assert.rejects(startSimulator({ bots: [{ botId: '', secret: 'x' }] }), RangeError);
    await assert.rejects(startSimulator({ botRatePerMinute: -1 }), RangeError);
  });

  it('control endpoints: callback, frames, streams, subscribes, connections, drop, fail', async () => {
    const control = async (path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const init = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) };
      const response = await fetch(`${sim.url}${path}`, init);
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    assert.equal((await control('/__sim/bot/callback', { botId: BOT.botId })).status, 409);
    const client = await connect(track(sdkClient(sim)));
    assert.deepEqual(await control(`/__sim/bot/connections?botId=${BOT.botId}`), { status: 200, json: { count: 1 } });
    assert.equal((await control('/__sim/bot/connections')).status, 400);
    const subscribes = (await control(`/__sim/bot/subscribes?botId=${BOT.botId}`)).json.subscribes as BotSubscribe[];
    assert.deepEqual(subscribes.map((attempt) => attempt.secretSha256), [sha256(BOT.secret)]);

    const message = next(client, 'message');
    const { status, json } = await control('/__sim/bot/callback', { botId: BOT.botId, body: { text: { content: 'over http' } } });
    assert.equal(status, 200);
    const frame = await message;
    assert.equal(frame.headers.req_id, json.req_id);
    assert.ok(frame.body);
    assert.equal(frame.body.text.content, 'over http');
    assert.equal(await errcodeOf(client.replyStream(frame, 'stream-1', 'partial')), 0);

    assert.deepEqual(await control('/__sim/bot/fail', { count: 1, errcode: 45009, cmd: 'aibot_respond_msg' }), { status: 200, json: { ok: true } });
    assert.equal(await errcodeOf(client.replyStream(frame, 'stream-1', 'partial, more')), 45009);
    assert.equal(await errcodeOf(client.replyStream(frame, 'stream-1', 'partial, more, done', true)), 0);
    const frames = (await control(`/__sim/bot/frames?botId=${BOT.botId}`)).json.frames as BotFrame[];
    assert.deepEqual(frames.map((f) => [f.cmd, f.errcode, f.injected ?? false]), [
      ['aibot_respond_msg', 0, false],
      ['aibot_respond_msg', 45009, true],
      ['aibot_respond_msg', 0, false],
    ]);
    const streams = (await control('/__sim/bot/streams')).json.streams as Array<Record<string, unknown>>;
    assert.deepEqual(streams.map(({ content, finished, frames: count }) => ({ content, finished, frames: count })), [{ content: 'partial, more, done', finished: true, frames: 2 }]);

    assert.equal((await control('/__sim/bot/fail', { count: 'one' })).status, 400);
    assert.equal((await control('/__sim/bot/callback', { botId: BOT.botId, cmd: 'ping' })).status, 400);
    assert.equal((await control('/__sim/bot/drop', { botId: BOT.botId, how: 'explode' })).status, 400);
    const disconnected = next(client, 'disconnected');
    assert.deepEqual(await control('/__sim/bot/drop', { botId: BOT.botId }), { status: 200, json: { dropped: 1 } });
    await disconnected;
    assert.equal(sim.botConnections(BOT.botId), 0);
  });
});
