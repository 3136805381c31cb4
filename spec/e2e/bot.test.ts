import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WSClient, type WsFrame } from '@wecom/aibot-node-sdk';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { readAuditLines, startStack, until, type Stack } from '../helpers.js';
import { caFiles } from '../../lib/egress/ca.js';
import { packageRoot } from '../../lib/paths.js';

// The bot channel end to end: the published SDK's WSClient (and the official plugin's own
// sendWeComReply) logged in to the firewall with the client secret, the simulator speaking WeCom's
// bot protocol behind it with the real secret.

const BOT = { id: 'aib-spec-helpdesk', secret: 'real-bot-secret-5d1c9a7e3b2f4c6d8e0a', client: 'client-bot-secret-for-agents-77aa' };
const GROUP = 'wrkSFfCgAAgroup01';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

interface AuditLine {
  decision: string;
  request_id: string;
  who: string;
  what: { route?: string; robot?: string; msgtype?: string; approval_id?: string; chat?: string; sender?: string; msgid?: string };
  errcode?: number;
  upstream_errcode?: number;
}

// The plugin exports only "." (which needs OpenClaw): its sender module is imported by file path.
const { sendWeComReply } = (await import(pathToFileURL(join(packageRoot(), 'node_modules', '@wecom', 'wecom-openclaw-plugin', 'dist', 'src', 'message-sender.js')).href)) as {
  sendWeComReply: (p: { wsClient: WSClient; frame: WsFrame; text: string; runtime: { log(): void; error(): void }; finish?: boolean; streamId?: string }) => Promise<string>;
};

function agent(url: string, options: Partial<ConstructorParameters<typeof WSClient>[0]> = {}): WSClient {
  return new WSClient({ botId: BOT.id, secret: BOT.client, wsUrl: url.replace(/^http/, 'ws'), maxReconnectAttempts: 0, maxAuthFailureAttempts: 1, heartbeatInterval: 60_000, logger: quiet, ...options });
}

async function loggedIn(client: WSClient): Promise<WSClient> {
  const ok = once(client, 'authenticated');
  client.connect();
  await ok;
  return client;
}

const content = (frame: { body?: unknown }) => JSON.stringify(frame.body ?? {});
/** The SDK's client is an eventemitter3 emitter: node's events.once does not take it. */
const once = (client: WSClient, event: Parameters<WSClient["once"]>[0]) => new Promise<unknown[]>((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));

describe('bot channel (e2e: the aibot SDK and the official plugin against the firewall and the simulator)', () => {
  let stack: Stack;
  const clients: WSClient[] = [];
  const track = (c: WSClient) => (clients.push(c), c);
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);

  before(async () => {
    process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => (stderr.push(String(chunk)), (write as (...a: unknown[]) => boolean)(chunk, ...rest))) as typeof process.stderr.write;
    stack = await startStack(
      { bots: { helpdesk: { botId: BOT.id, secret: '${env:BOT_REAL}', clientSecret: '${env:BOT_CLIENT}', limit: '6/min' } }, egress: { listen: '127.0.0.1:0' } },
      { bots: [{ botId: BOT.id, secret: BOT.secret }] },
      { env: { BOT_REAL: BOT.secret, BOT_CLIENT: BOT.client } },
    );
  });

  after(async () => {
    for (const c of clients) if (c.isConnected) c.disconnect();
    await stack?.close();
    process.stderr.write = write;
  });

  it('logs in with the client secret: WeCom sees only the real secret; a wrong client secret never reaches WeCom', async () => {
    const before = stack.sim.subscribes().length;
    const wrong = track(agent(stack.server.url, { secret: 'not-the-client-secret' }));
    const failed = once(wrong, 'error');
    wrong.connect();
    const [err] = (await failed) as [Error];
    assert.match(err.message, /40001/);
    assert.equal(stack.sim.subscribes().length, before, 'a wrong client secret is refused by the firewall: WeCom is not asked');

    const client = track(await loggedIn(agent(stack.server.url)));
    const seen = stack.sim.subscribes().slice(before);
    assert.equal(seen.length, 1);
    assert.deepEqual([seen[0]!.ok, seen[0]!.secretSha256], [true, sha(BOT.secret)]);
    client.disconnect();
    await until('the upstream closes with its agent', () => stack.sim.botConnections(BOT.id) === 0);
  });

  it("relays an inbound message to the agent; the plugin's stream reply reaches the chat it answers", async () => {
    const client = track(await loggedIn(agent(stack.server.url)));
    const inbound = once(client, 'message');
    const reqId = stack.sim.botCallback(BOT.id, { msgtype: 'text', text: { content: 'is the build green?' }, chattype: 'group', chatid: GROUP, from: { userid: 'zhangsan' } });
    const [frame] = (await inbound) as [WsFrame];
    assert.equal(frame.headers.req_id, reqId);
    await sendWeComReply({ wsClient: client, frame, text: 'yes: build 4711 passed', runtime: { log() {}, error() {} } });
    const reply = stack.sim.botFrames(BOT.id).find((f) => f.cmd === 'aibot_respond_msg' && f.req_id === reqId);
    assert.ok(reply, 'the reply reached WeCom');
    assert.equal((reply.body as { stream: { content: string } }).stream.content, 'yes: build 4711 passed');
    await stack.server.firewall.flushAudit();
    const lines = readAuditLines<AuditLine>(stack.dataDir);
    const received = lines.find((l) => l.decision === 'received' && l.what.route === 'bot.msg_callback');
    assert.deepEqual([received?.what.chat, received?.what.sender, received?.what.msgtype], [GROUP, 'zhangsan', 'text']);
    assert.ok(!JSON.stringify(lines).includes('is the build green'), 'inbound content is not audited');
    assert.ok(lines.some((l) => l.decision === 'forwarded' && l.what.route === 'bot.respond_msg' && l.what.robot === 'bot:helpdesk'));
    client.disconnect();
  });

  it('refuses a credential in a reply or a send with an error ack; nothing reaches WeCom', async () => {
    const client = track(await loggedIn(agent(stack.server.url)));
    const before = stack.sim.botFrames(BOT.id).length;
    const leak = 'the key is AKIAIOSFODNN7EXAMPLE';
    const sent = await client.sendMessage(GROUP, { msgtype: 'markdown', markdown: { content: leak } }).then(
      () => undefined,
      (e: unknown) => e as WsFrame,
    );
    assert.equal(sent?.errcode, 9900001);
    const inbound = once(client, 'message');
    stack.sim.botCallback(BOT.id, { msgtype: 'text', text: { content: 'what is the key?' }, chattype: 'single', from: { userid: 'lisi' } });
    const [frame] = (await inbound) as [WsFrame];
    const replied = await sendWeComReply({ wsClient: client, frame, text: leak, runtime: { log() {}, error() {} } }).catch((e: unknown) => e as WsFrame);
    assert.equal((replied as WsFrame).errcode, 9900001);
    assert.equal(stack.sim.botFrames(BOT.id).length, before, 'no refused frame reached WeCom');
    assert.ok(!JSON.stringify(stack.sim.botFrames(BOT.id)).includes('AKIAIOSFODNN7EXAMPLE'));
    client.disconnect();
  });

  it('parks a mass mention; approved after the agent left, it is delivered once through a connection the firewall opens', async () => {
    const client = track(await loggedIn(agent(stack.server.url)));
    const text = `<@all> maintenance tonight ${Date.now()}`;
    const ack = await client.sendMessage(GROUP, { msgtype: 'markdown', markdown: { content: text } });
    assert.equal(ack.errcode, 0);
    const approvalId = (ack.body as { approval_id?: string }).approval_id;
    assert.ok(approvalId, 'parked: the ack carries the approval id');
    assert.ok(!stack.sim.botFrames(BOT.id).some((f) => content(f).includes(text)), 'nothing sent before approval');
    client.disconnect();
    await until('the agent is gone', () => stack.sim.botConnections(BOT.id) === 0);
    const decided = await stack.admin('POST', `/approvals/${approvalId}/approve`, await stack.token('alice'));
    assert.equal(decided.status, 200, decided.text);
    await until('the approved message reaches WeCom', () => stack.sim.botFrames(BOT.id).some((f) => content(f).includes(text)));
    const status = await until('the record is sent', async () => {
      const r = await stack.admin('GET', `/approvals/${approvalId}`, await stack.token('alice'));
      const s = (r.json.approval as { status?: string } | undefined)?.status;
      return s === 'sent' || s === 'failed' ? s : undefined;
    });
    assert.equal(status, 'sent');
    assert.equal(stack.sim.botFrames(BOT.id).filter((f) => content(f).includes(text)).length, 1, 'delivered exactly once');
    await until('the delivery connection is closed again', () => stack.sim.botConnections(BOT.id) === 0);
  });

  it('a second connection for the same bot takes over: the older one is told (disconnected_event) and closed', async () => {
    const first = track(await loggedIn(agent(stack.server.url)));
    const told = once(first, 'disconnected');
    const second = track(await loggedIn(agent(stack.server.url)));
    await told;
    assert.equal(first.isConnected, false);
    assert.equal(second.isConnected, true);
    assert.equal(stack.sim.botConnections(BOT.id), 1, 'one upstream connection per bot');
    second.disconnect();
  });

  it('serves the bot WebSocket inside the egress proxy: wss://openws.work.weixin.qq.com through a CONNECT tunnel', async () => {
    const ca = readFileSync(caFiles(stack.dataDir).cert, 'utf8');
    const proxyAgent = new HttpsProxyAgent(stack.server.egressUrl!, { ca });
    const client = track(await loggedIn(agent('wss://openws.work.weixin.qq.com', { wsUrl: 'wss://openws.work.weixin.qq.com', wsOptions: { agent: proxyAgent, ca } })));
    const ack = await client.sendMessage(GROUP, { msgtype: 'markdown', markdown: { content: 'through the egress proxy' } });
    assert.equal(ack.errcode, 0);
    assert.ok(stack.sim.botFrames(BOT.id).some((f) => content(f).includes('through the egress proxy')));
    client.disconnect();
  });

  // Last but one: it spends the bot's whole window.
  it("holds the bot's limit: past it, WeCom's 45009 errcode in an error ack, nothing sent", async () => {
    const client = track(await loggedIn(agent(stack.server.url)));
    const results: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await client.sendMessage(GROUP, { msgtype: 'markdown', markdown: { content: `status ${i}` } }).then(
        (f) => f.errcode ?? 0,
        (f: WsFrame) => f.errcode ?? -1,
      );
      results.push(r);
    }
    assert.ok(results.includes(45009), `the 6/min limit refused some: ${results.join(',')}`);
    const sent = stack.sim.botFrames(BOT.id).filter((f) => f.cmd === 'aibot_send_msg' && /^status \d$/.test((f.body as { markdown?: { content?: string } }).markdown?.content ?? ''));
    assert.ok(sent.length <= 6, `at most 6 in the window reached WeCom (${sent.length})`);
    assert.equal(sent.length, results.filter((r) => r === 0).length);
    client.disconnect();
  });

  it('never lets the real bot secret out: not in audit lines, logs, acks or metrics', async () => {
    await stack.server.firewall.flushAudit();
    const audit = readFileSync(join(stack.dataDir, 'audit', 'audit.log'), 'utf8');
    const metrics = await (await fetch(`${stack.server.adminUrl}/metrics`)).text();
    for (const [where, text] of [['audit', audit], ['log', stderr.join('')], ['metrics', metrics]] as const) {
      assert.ok(!text.includes(BOT.secret), `${where} holds the real secret`);
    }
  });
});
