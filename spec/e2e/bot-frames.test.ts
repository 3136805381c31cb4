import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { WSClient, type WsFrame } from '@wecom/aibot-node-sdk';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, tempDir, until, type Stack } from '../helpers.js';
import { shippedPoliciesDir } from '../../lib/paths.js';

// The bot channel's edges: streams that are parked or refused, approved replies after their
// req_id expired, uploads, and input that is not a well-formed frame. The simulator's clock is
// moved by hand (stream expiry), never slept on.

const BOT = { id: 'aib-spec-frames', secret: 'real-bot-secret-frames-9a8b7c6d5e', client: 'client-bot-secret-frames-1f2e3d' };
const GROUP = 'wrkGroupFrames01';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const onceFrom = (client: WSClient, event: Parameters<WSClient['once']>[0]) => new Promise<unknown[]>((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));
const failed = (p: Promise<WsFrame>) => p.then((f) => f, (f: WsFrame) => f);

/** A raw agent: sends frames as written, collects what comes back. */
async function raw(url: string): Promise<{ ws: WebSocket; next: () => Promise<Record<string, unknown>>; closed: Promise<number> }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'));
  const inbox: Array<Record<string, unknown>> = [];
  const waiting: Array<(f: Record<string, unknown>) => void> = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    const w = waiting.shift();
    if (w) w(frame);
    else inbox.push(frame);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  return { ws, next: () => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((r) => waiting.push(r))), closed };
}


/**
 * An agent that speaks WebSocket by hand and never answers a close frame (the ws library always
 * does): to see that a connection the firewall told to go is cut off, and forwards nothing more.
 */
async function deafAgent(url: string) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  socket.write(`GET / HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  const frames: Array<{ opcode: number; text: string }> = [];
  let upgraded = false;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      buffer = buffer.subarray(end + 4);
    }
    // Server frames are unmasked; these are small (length < 65536).
    while (buffer.length >= 2) {
      let len = buffer[1]! & 0x7f;
      let at = 2;
      if (len === 126) (len = buffer.readUInt16BE(2)), (at = 4);
      if (buffer.length < at + len) return;
      frames.push({ opcode: buffer[0]! & 0x0f, text: buffer.subarray(at, at + len).toString() });
      buffer = buffer.subarray(at + len);
    }
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const send = (text: string) => {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    socket.write(Buffer.concat([head, mask, payload.map((b, i) => b ^ mask[i % 4]!)]));
  };
  return { socket, frames, closed, send };
}

describe('bot channel frames (e2e)', () => {
  let stack: Stack;
  let now = Date.now();
  const clients: WSClient[] = [];
  const agent = () => {
    const c = new WSClient({ botId: BOT.id, secret: BOT.client, wsUrl: stack.server.url.replace(/^http/, 'ws'), maxReconnectAttempts: 0, maxAuthFailureAttempts: 1, heartbeatInterval: 60_000, logger: quiet });
    clients.push(c);
    return c;
  };
  const loggedIn = async () => {
    const c = agent();
    const ok = onceFrom(c, 'authenticated');
    c.connect();
    await ok;
    return c;
  };
  const callback = async (c: WSClient, body: Record<string, unknown>) => {
    const got = onceFrom(c, 'message');
    stack.sim.botCallback(BOT.id, body);
    return ((await got) as [WsFrame])[0];
  };
  /** As the console does: approve the state shown, by its digest. */
  const approve = async (id: string) => {
    const { sha256 } = await approvalOf(id);
    const r = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'), { sha256 });
    assert.equal(r.status, 200, r.text);
  };
  /** An approval as the admin API shows it to `sub`. */
  const approvalOf = async (id: string, sub = 'alice') => (await stack.admin('GET', `/approvals/${id}`, await stack.token(sub))).json.approval as { status: string; sha256: string; rule: string; approvers: string[] };
  const statusOf = async (id: string) => (await approvalOf(id)).status;

  before(async () => {
    // The shipped packs, after one stricter rule of the spec's own: payroll figures need bob.
    const local = tempDir('wf-bot-policies-');
    writeFileSync(join(local, '26-local.yaml'), `rules:
  - name: local.payroll
    description: payroll figures go out only with bob's approval
    match: { bots: [frames], routes: [bot.respond_msg] }
    condition: { required: [stream], properties: { stream: { required: [content], properties: { content: { pattern: PAYROLL } } } } }
    action: approve
    approval: { approvers: [bob] }
    reason: payroll needs bob
`);
    stack = await startStack(
      { bots: { frames: { botId: BOT.id, secret: '${env:BOT_REAL}', clientSecret: '${env:BOT_CLIENT}' } }, policies: [local, shippedPoliciesDir()] },
      { bots: [{ botId: BOT.id, secret: BOT.secret }], clock: () => now },
      { env: { BOT_REAL: BOT.secret, BOT_CLIENT: BOT.client } },
    );
  });

  after(async () => {
    for (const c of clients) if (c.isConnected) c.disconnect();
    await stack?.close();
  });

  it('a parked stream: later frames get the same approval id, the record takes the final state, and approval sends that once', async () => {
    const c = await loggedIn();
    const frame = await callback(c, { msgtype: 'text', text: { content: 'announce it' }, chattype: 'group', chatid: GROUP, from: { userid: 'zhangsan' } });
    const first = await c.replyStream(frame, 'stream-1', '<@all> release 1.2', false);
    const id = (first.body as { approval_id: string }).approval_id;
    assert.ok(id, 'the first @all frame is parked');
    const last = await c.replyStream(frame, 'stream-1', '<@all> release 1.2 is out: see the notes', true);
    assert.equal((last.body as { approval_id: string }).approval_id, id, 'a later frame of the parked stream is answered alike');
    assert.equal(stack.sim.botFrames(BOT.id).filter((f) => f.req_id === frame.headers.req_id).length, 0, 'nothing sent yet');
    await approve(id);
    await until('sent', async () => (await statusOf(id)) === 'sent');
    const sent = stack.sim.botFrames(BOT.id).filter((f) => f.req_id === frame.headers.req_id);
    assert.equal(sent.length, 1);
    assert.deepEqual((sent[0]!.body as { stream: { content: string; finish: boolean } }).stream, { id: 'stream-1', content: '<@all> release 1.2 is out: see the notes', finish: true });
    c.disconnect();
  });

  it('a parked stream whose later frame carries a credential: refused, the parked message withdrawn, nothing sent (regression: later frames were not judged)', async () => {
    const c = await loggedIn();
    const frame = await callback(c, { msgtype: 'text', text: { content: 'status?' }, chattype: 'group', chatid: GROUP, from: { userid: 'zhangsan' } });
    const first = await c.replyStream(frame, 'stream-5', '<@all> all systems nominal', false);
    const id = (first.body as { approval_id: string }).approval_id;
    const shown = await approvalOf(id);
    const swapped = await failed(c.replyStream(frame, 'stream-5', '<@all> here is the key AKIAIOSFODNN7EXAMPLE', true));
    assert.equal(swapped.errcode, 9900001);
    assert.equal(await statusOf(id), 'expired', 'the parked message is withdrawn');
    const vote = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'), { sha256: shown.sha256 });
    assert.equal(vote.status, 409);
    assert.equal(stack.sim.botFrames(BOT.id).filter((f) => f.req_id === frame.headers.req_id).length, 0);
    c.disconnect();
  });

  it('an approve on an earlier state of a parked stream, or without a digest once it grew, is refused (409 / 9900032); on the state shown, it counts', async () => {
    const c = await loggedIn();
    const frame = await callback(c, { msgtype: 'text', text: { content: 'plan?' }, chattype: 'group', chatid: GROUP, from: { userid: 'lisi' } });
    const first = await c.replyStream(frame, 'stream-6', '<@all> plan: deploy at 10', false);
    const id = (first.body as { approval_id: string }).approval_id;
    const seen = (await approvalOf(id)).sha256;
    await c.replyStream(frame, 'stream-6', '<@all> plan: deploy at 10, then migrate the database', true);
    const stale = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'), { sha256: seen });
    assert.deepEqual([stale.status, stale.json.errcode], [409, 9900032]);
    const blind = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'));
    assert.deepEqual([blind.status, blind.json.errcode], [409, 9900032], 'a message that changed while parked is approved only with the digest of what was checked');
    const now = (await approvalOf(id)).sha256;
    const fresh = await stack.admin('POST', `/approvals/${id}/approve`, await stack.token('alice'), { sha256: now });
    assert.equal(fresh.status, 200, fresh.text);
    await until('sent', async () => (await statusOf(id)) === 'sent');
    const sent = stack.sim.botFrames(BOT.id).filter((f) => f.req_id === frame.headers.req_id);
    assert.equal((sent[0]!.body as { stream: { content: string } }).stream.content, '<@all> plan: deploy at 10, then migrate the database');
    c.disconnect();
  });

  it('a parked stream whose later frame needs a stricter approval is parked anew under that rule', async () => {
    const c = await loggedIn();
    const frame = await callback(c, { msgtype: 'text', text: { content: 'numbers?' }, chattype: 'group', chatid: GROUP, from: { userid: 'zhangsan' } });
    const first = await c.replyStream(frame, 'stream-7', '<@all> the numbers are in', false);
    const id = (first.body as { approval_id: string }).approval_id;
    const later = await c.replyStream(frame, 'stream-7', '<@all> the numbers are in: PAYROLL for March', true);
    const again = (later.body as { approval_id: string }).approval_id;
    assert.notEqual(again, id, 'a new approval under the stricter rule');
    assert.equal(await statusOf(id), 'expired', 'the first park is withdrawn');
    const record = await approvalOf(again, 'bob');
    assert.deepEqual([record.rule, record.approvers], ['local.payroll', ['bob']]);
    const alice = await stack.admin('POST', `/approvals/${again}/approve`, await stack.token('alice'));
    assert.equal(alice.status, 403, 'alice may approve the mass mention, not payroll');
    c.disconnect();
  });

  it('a refused stream stays refused, whatever its later frames carry', async () => {
    const c = await loggedIn();
    const frame = await callback(c, { msgtype: 'text', text: { content: 'key?' }, chattype: 'single', from: { userid: 'lisi' } });
    const refused = await failed(c.replyStream(frame, 'stream-2', 'AKIAIOSFODNN7EXAMPLE', false));
    assert.equal(refused.errcode, 9900001);
    const later = await failed(c.replyStream(frame, 'stream-2', 'sorry, nothing to see', true));
    assert.equal(later.errcode, 9900001);
    assert.equal(stack.sim.botFrames(BOT.id).filter((f) => f.req_id === frame.headers.req_id).length, 0);
    c.disconnect();
  });

  it('an approved reply whose stream expired is sent to the same chat as a new markdown message', async () => {
    const c = await loggedIn();
    const frame = await callback(c, { msgtype: 'text', text: { content: 'tell everyone' }, chattype: 'group', chatid: GROUP, from: { userid: 'wangwu' } });
    const ack = await c.replyStream(frame, 'stream-3', '@所有人 the office is closed tomorrow', true);
    const id = (ack.body as { approval_id: string }).approval_id;
    c.disconnect();
    now += 7 * 60_000; // WeCom's 6 minutes for a stream are over (the firewall's own memory says so too, or WeCom answers 846608)
    await approve(id);
    await until('sent', async () => (await statusOf(id)) === 'sent');
    const sends = stack.sim.botFrames(BOT.id).filter((f) => f.cmd === 'aibot_send_msg' && JSON.stringify(f.body).includes('the office is closed tomorrow'));
    assert.equal(sends.length, 1);
    assert.deepEqual(sends[0]!.body, { chatid: GROUP, msgtype: 'markdown', markdown: { content: '@所有人 the office is closed tomorrow' } });
  });

  it('an upload passes when its init is allowed: the SDK gets a media_id; a chunk of an unknown upload is refused', async () => {
    const c = await loggedIn();
    const done = await c.uploadMedia(Buffer.alloc(700 * 1024, 7), { type: 'file', filename: 'report.pdf' });
    assert.ok(done.media_id);
    const r = await raw(stack.server.url);
    r.ws.send(JSON.stringify({ cmd: 'aibot_subscribe', headers: { req_id: 'aibot_subscribe_1' }, body: { bot_id: BOT.id, secret: BOT.client } }));
    assert.equal((await r.next()).errcode, 0);
    r.ws.send(JSON.stringify({ cmd: 'aibot_upload_media_chunk', headers: { req_id: 'chunk_1' }, body: { upload_id: 'invented', chunk_index: 0, base64_data: 'AAAA' } }));
    const refused = await r.next();
    assert.deepEqual([(refused.headers as { req_id: string }).req_id, refused.errcode], ['chunk_1', 40058]);
    r.ws.close();
  });

  it('an upload chunk WeCom refused once and the SDK sent again passes (counted once, not twice)', async () => {
    const c = await loggedIn();
    stack.sim.failNextBot(1, -1, 'aibot_upload_media_chunk');
    const done = await c.uploadMedia(Buffer.alloc(600 * 1024, 3), { type: 'file', filename: 'retry.bin' });
    assert.ok(done.media_id);
    c.disconnect();
  });

  it('answers input that is not a frame: garbage closes (1007), a frame before login gets 9900031 and a close, binary closes (1003)', async () => {
    const before = stack.sim.subscribes().length;
    const garbage = await raw(stack.server.url);
    garbage.ws.send('{not json');
    assert.equal(await garbage.closed, 1007);
    const early = await raw(stack.server.url);
    early.ws.send(JSON.stringify({ cmd: 'aibot_send_msg', headers: { req_id: 'x1' }, body: { chatid: GROUP, msgtype: 'markdown', markdown: { content: 'hi' } } }));
    const answer = await early.next();
    assert.equal(answer.errcode, 9900031);
    assert.equal(await early.closed, 1008);
    const binary = await raw(stack.server.url);
    binary.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal(await binary.closed, 1003);
    assert.equal(stack.sim.subscribes().length, before, 'none of them reached WeCom');
  });

  it('relays pings without their body, at most one a second', async () => {
    const r = await raw(stack.server.url);
    r.ws.send(JSON.stringify({ cmd: 'aibot_subscribe', headers: { req_id: 'aibot_subscribe_2' }, body: { bot_id: BOT.id, secret: BOT.client } }));
    assert.equal((await r.next()).errcode, 0);
    r.ws.send(JSON.stringify({ cmd: 'ping', headers: { req_id: 'ping_1' }, body: { note: 'not for WeCom' } }));
    assert.equal((await r.next()).errcode, 0);
    r.ws.send(JSON.stringify({ cmd: 'ping', headers: { req_id: 'ping_2' } }));
    const second = await r.next();
    assert.deepEqual([(second.headers as { req_id: string }).req_id, second.errcode], ['ping_2', 45009]);
    r.ws.close();
  });

  it('a connection told to go (replaced by a newer login) forwards nothing more and is cut off though it never answers the close (regression: it forwarded for 30 s)', async () => {
    const deaf = await deafAgent(stack.server.url);
    deaf.send(JSON.stringify({ cmd: 'aibot_subscribe', headers: { req_id: 'aibot_subscribe_deaf' }, body: { bot_id: BOT.id, secret: BOT.client } }));
    await until('logged in', () => deaf.frames.some((f) => f.text.includes('aibot_subscribe_deaf')));
    const newer = await loggedIn();
    await until('told to go', () => deaf.frames.some((f) => f.opcode === 0x8));
    const marker = `after the close ${Date.now()}`;
    deaf.send(JSON.stringify({ cmd: 'aibot_send_msg', headers: { req_id: 'send_deaf' }, body: { chatid: GROUP, msgtype: 'markdown', markdown: { content: marker } } }));
    await until('cut off within the grace', () => deaf.socket.destroyed || deaf.socket.readableEnded, { timeoutMs: 5_000 });
    await deaf.closed;
    assert.ok(!stack.sim.botFrames(BOT.id).some((f) => JSON.stringify(f.body).includes(marker)), 'nothing forwarded after the close');
    newer.disconnect();
  });

  it('refuses an upgrade at another path (404) or with a caller token in the query (403), before any socket', async () => {
    const at = (path: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${stack.server.url.replace(/^http/, 'ws')}${path}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(-1));
      });
    assert.equal(await at('/somewhere'), 404);
    assert.equal(await at('/?x-firewall-token=abcdefghijklmnopqrstuvwxyz'), 403);
  });
});
