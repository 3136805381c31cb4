import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'winston';
import type { AuditLog, AuditRecord } from '../../audit/audit.js';
import type { Bot, ResolvedConfig } from '../../config/load.js';
import { FirewallError } from '../../errors.js';
import type { Approvals } from '../../approvals/service.js';
import type { Approval } from '../../approvals/store.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { auditRefusal } from '../../pipeline/request.js';
import type { UpstreamAnswer } from '../../upstream/send.js';
import { UpstreamRefusal } from '../../upstream/guard.js';
import { CallerRefused } from '../../callers/identify.js';
import { splitTokenPrefix } from '../../request/route.js';
import { throttle } from '../../log-throttle.js';
import { asFirewallError, refuseOnSocket } from '../../http/respond.js';
import { ChatMemory, STREAM_WINDOW_MS } from './chats.js';
import { isObject, newReqId, type Frame } from './frames.js';
import { REPLY_COMMANDS } from '../../request/bot-route.js';
import { AgentSession } from './session.js';
import { BotLoginRefused, BotUpstream } from './upstream.js';

// The bot channel: agents' WebSockets in (AgentSession), one firewall-owned WebSocket per bot out to
// WeCom (BotUpstream), logged in with the real secret. A bot's upstream is opened when an agent logs
// in (or an approved message must go out) and closed when neither needs it. A second agent logging
// in as the same bot takes over, as on WeCom: the older one is sent disconnected_event and closed.
// Inbound callbacks are relayed unchanged to the bot's agent and audited as metadata.

export interface BotChannelDeps {
  /** The configuration in force (a reload replaces it). */
  config: () => ResolvedConfig;
  pipeline: Pipeline;
  approvals: Approvals;
  audit: Pick<AuditLog, 'record' | 'healthy'>;
  log: Logger;
  metrics: Metrics;
}

/** A stream reply's state: its later frames are answered as its first one was. */
export type StreamState = { kind: 'allowed' } | { kind: 'refused'; error: FirewallError } | { kind: 'parked'; approvalId: string; requestId: string };

interface Link {
  upstream?: BotUpstream;
  opening?: Promise<BotUpstream>;
  session?: AgentSession;
  /** Approved messages being delivered through the upstream: it stays open for them. */
  holds: number;
  streams: LRUCache<string, StreamState>;
  /** The agent's own subscribe fields (scene, plug_version), sent on with the real secret. */
  subscribe: Record<string, unknown>;
}

/**
 * The largest frame taken from an agent (ws closes the connection with 1009 past it). An upload chunk
 * is 512 KiB (~700 KB in base64); a stream reply may carry up to 10 inline images: as the simulator, room
 * for 10 of 2 MB in base64.
 */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;
/** WeCom's answers to a reply whose req_id can no longer be answered: stream expired, invalid req_id. */
const TOO_LATE = new Set([846608, 846605]);

export class BotChannel {
  readonly chats = new ChatMemory();
  readonly redact: (text: string) => string;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly links = new Map<string, Link>();
  private readonly sessions = new Set<AgentSession>();
  private readonly failureLog = throttle(10_000, 10, (n) => this.deps.log.error('bot frame failures not logged in the last window (each is audited)', { suppressed: n }));
  private closed = false;

  constructor(private readonly deps: BotChannelDeps) {
    this.redact = (text) => deps.config().redactor.redact(text);
  }

  get pipeline(): Pipeline {
    return this.deps.pipeline;
  }

  get approvals(): Approvals {
    return this.deps.approvals;
  }

  get log(): Logger {
    return this.deps.log;
  }

  /** An HTTP upgrade on `listen` (or inside an egress tunnel to WeCom's bot host): the caller is identified as for any request. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const record = { decision: 'rejected' as const, request_id: randomUUID(), who: 'unknown', what: { route: 'bot.connect' }, started: performance.now() };
    const config = this.deps.config();
    let splitToken: string | undefined;
    try {
      const prefixed = splitTokenPrefix(req.url ?? '/');
      if (prefixed) req.url = prefixed.url;
      splitToken = prefixed?.token;
      record.who = config.callers.identify(req, splitToken);
      if (this.closed) throw new FirewallError('SHUTTING_DOWN');
      if (!config.bots.size) throw new FirewallError('BOT_CHANNEL_UNAVAILABLE');
      if (!this.deps.audit.healthy()) throw new FirewallError('AUDIT_UNAVAILABLE', 'nothing is forwarded or parked unaudited');
      if ((req.url ?? '/').split('?')[0] !== '/') throw new FirewallError('UNKNOWN_PATH', 'the bot WebSocket is served at / (or /t/<caller token>/)');
      if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') throw new FirewallError('UNKNOWN_PATH', 'only a WebSocket upgrade is served here');
    } catch (err) {
      if (err instanceof CallerRefused) record.who = err.who;
      const fe = asFirewallError(err);
      refuseOnSocket(socket, fe, record.request_id, this.redact);
      return this.audit(record, fe);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new AgentSession(ws, record.who, this, { req, token: splitToken });
      this.sessions.add(session);
      ws.once('close', () => this.sessions.delete(session));
    });
  }

  botById(botId: string): Bot | undefined {
    for (const bot of this.deps.config().bots.values()) if (bot.botId === botId) return bot;
    return undefined;
  }

  /** The agent sent the bot's real secret: refused like a wrong one, and flagged (the secret must be rotated). */
  leaked(bot: Bot, record: AuditRecord): void {
    record.why = { rule: 'leaked-key', reason: `the real secret of bot ${bot.alias} was sent instead of its client secret: rotate it and take it out of the agent's configuration` };
    this.deps.log.error('leaked key: an agent sent a real WeCom credential to the firewall', { request_id: record.request_id, caller: record.who, owner: `bot ${bot.alias}` });
  }

  /**
   * An agent logged in as `bot`: its upstream is opened (or reused) and the agent becomes the bot's
   * only one. Resolves with WeCom's ack, or undefined when the agent left meanwhile.
   */
  async login(session: AgentSession, bot: Bot, body: Record<string, unknown>): Promise<Frame | undefined> {
    const link = this.link(bot);
    // Only the fields WeCom's login takes go along with the real secret, each checked.
    link.subscribe = {
      ...(Number.isSafeInteger(body.scene) ? { scene: body.scene } : {}),
      ...(typeof body.plug_version === 'string' && body.plug_version.length <= 64 ? { plug_version: body.plug_version } : {}),
    };
    const fresh = !link.upstream?.open;
    const upstream = await this.upstreamFor(bot, link);
    if (!session.connected) {
      this.release(link);
      return undefined;
    }
    const older = link.session;
    link.session = session;
    if (older && older !== session) {
      // As WeCom does when a bot logs in twice: the older connection is told, then closed (its SDK does not reconnect).
      older.send(JSON.stringify({ cmd: 'aibot_event_callback', headers: { req_id: newReqId('aibot_event_callback') }, body: { msgid: randomUUID(), create_time: Math.floor(Date.now() / 1000), aibotid: bot.botId, msgtype: 'event', event: { eventtype: 'disconnected_event' } } }));
      older.close(1000, 'replaced by a newer connection for this bot');
    }
    return fresh ? upstream.loginAck! : { headers: { req_id: '' }, errcode: 0, errmsg: 'ok' };
  }

  /** The agent left (or was logged out): its bot's upstream is closed if nothing else needs it. */
  detach(session: AgentSession, bot = session.bot): void {
    if (!bot) return;
    const link = this.links.get(bot.alias);
    if (link?.session !== session) return;
    link.session = undefined;
    this.release(link);
  }

  /** Sends a frame through the bot's open upstream and returns WeCom's ack as an answer (its text relayed as it came). */
  async forward(bot: Bot, cmd: string, reqId: string, body?: Buffer | string): Promise<UpstreamAnswer> {
    const upstream = this.links.get(bot.alias)?.upstream;
    if (!upstream?.open) throw new UpstreamRefusal('UPSTREAM_UNAVAILABLE', "the bot's connection to WeCom is not open: log in again", 0, false);
    const { frame, text } = await upstream.request(cmd, reqId, body);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(text), errcode: frame.errcode };
  }

  streams(bot: Bot): LRUCache<string, StreamState> {
    return this.link(bot).streams;
  }

  count(bot: Bot, frame: string): void {
    this.deps.metrics.botFrames.inc({ bot: bot.alias, frame });
  }

  /** Writes a frame's audit record: a refusal with its code, the rest as the pipeline left it. */
  audit(entry: AuditRecord & { started: number }, failure?: FirewallError): void {
    const { started, ...record } = entry;
    if (failure) {
      auditRefusal(record, failure);
      if (failure.status >= 500) this.failureLog(() => this.deps.log.error('bot frame refused by a failure', { request_id: record.request_id, code: failure.code, cause: String(failure.cause ?? failure.message) }));
    }
    record.latency_ms = Math.round((performance.now() - started) * 100) / 100;
    this.deps.audit.record(record);
  }

  /**
   * Sends an approved record through its bot's upstream (opened for it if no agent is connected). A
   * reply goes as the original command while its req_id can be answered, else as aibot_send_msg to
   * the same chat; a stream goes in its last state, finished.
   */
  async deliver(record: Approval): Promise<UpstreamAnswer> {
    const bot = this.deps.config().bots.get(record.robot);
    if (!bot) throw new FirewallError('INTERNAL', `bot ${record.robot} is no longer configured; not sent`);
    const link = this.link(bot);
    link.holds++;
    try {
      try {
        await this.upstreamFor(bot, link);
      } catch (err) {
        if (err instanceof BotLoginRefused) throw new UpstreamRefusal('UPSTREAM_UNAVAILABLE', `WeCom refused the bot's login (errcode ${err.ack.errcode})`, 0, false);
        throw err;
      }
      const [cmd = '', query = ''] = record.target.split('?');
      const params = new URLSearchParams(query);
      const body = JSON.parse(record.payload.toString('utf8')) as Record<string, unknown>;
      const reqId = params.get('req_id');
      if (!reqId || !REPLY_COMMANDS.has(cmd)) return await this.forward(bot, cmd, newReqId(cmd), record.payload);
      const chat = this.chats.answering(bot.alias, reqId);
      // Unknown age (the firewall restarted): try, and WeCom says if it is too late.
      if (!chat || Date.now() - chat.at < STREAM_WINDOW_MS) {
        const answer = await this.forward(bot, cmd, reqId, JSON.stringify(finished(body)));
        if (answer.errcode === undefined || !TOO_LATE.has(answer.errcode)) return answer;
      }
      const chatid = params.get('chatid');
      const message = chatid ? asNewMessage(body, chatid) : undefined;
      if (!message) throw new FirewallError('INTERNAL', 'the reply can no longer be answered and it cannot be sent to its chat as a new message; not sent');
      return await this.forward(bot, 'aibot_send_msg', newReqId('aibot_send_msg'), JSON.stringify(message));
    } finally {
      link.holds--;
      this.release(link);
    }
  }

  /**
   * After a reload: a bot removed, or whose id or secrets changed, is logged out on both sides (its
   * agent logs in again, against the new settings). The others keep their connections.
   */
  reloaded(): void {
    const config = this.deps.config();
    const bots = config.bots;
    // Callers are checked again against the callers in force, as HTTP requests are one by one.
    for (const session of this.sessions) {
      if (!session.stillCaller(config.callers)) session.close(1008, 'the caller is no longer allowed');
    }
    for (const [alias, link] of this.links) {
      const now = bots.get(alias);
      const was = link.upstream?.bot ?? link.session?.bot;
      if (!was || (now && now.botId === was.botId && now.secret === was.secret && now.clientSecret === was.clientSecret)) continue;
      link.session?.close(1012, 'the bot was reconfigured: log in again');
      link.session = undefined;
      this.release(link);
    }
  }

  /** Stops taking agents and closes theirs (their SDKs reconnect, elsewhere or after the restart). */
  closeSockets(): void {
    this.closed = true;
    for (const session of this.sessions) session.close(1001, 'the firewall is stopping');
  }

  close(): void {
    this.closeSockets();
    for (const link of this.links.values()) {
      link.session = undefined;
      link.holds = 0;
      this.release(link);
    }
    this.wss.close();
  }

  private link(bot: Bot): Link {
    let link = this.links.get(bot.alias);
    if (!link) this.links.set(bot.alias, (link = { holds: 0, streams: new LRUCache({ max: 1_000, ttl: 2 * STREAM_WINDOW_MS }), subscribe: {} }));
    return link;
  }

  private upstreamFor(bot: Bot, link: Link): Promise<BotUpstream> {
    if (link.upstream?.open) return Promise.resolve(link.upstream);
    if (this.closed) return Promise.reject(new FirewallError('SHUTTING_DOWN'));
    return (link.opening ??= this.open(bot, link).finally(() => (link.opening = undefined)));
  }

  private async open(bot: Bot, link: Link): Promise<BotUpstream> {
    const config = this.deps.config();
    const upstream = new BotUpstream(bot, config.botUpstream, config.upstreamTimeoutMs);
    upstream.on('inbound', (frame, text) => this.inbound(bot, upstream, frame, text));
    upstream.on('closed', (reason) => this.upstreamClosed(bot, upstream, reason));
    await upstream.login(link.subscribe);
    link.upstream = upstream;
    return upstream;
  }

  /** Closes a bot's upstream once no agent and no delivery needs it. */
  private release(link: Link): void {
    if (link.session || link.holds > 0 || !link.upstream) return;
    const upstream = link.upstream;
    link.upstream = undefined;
    upstream.close();
  }

  private upstreamClosed(bot: Bot, upstream: BotUpstream, reason: string): void {
    const link = this.links.get(bot.alias);
    if (!link || link.upstream !== upstream) return;
    link.upstream = undefined;
    if (!link.session) return;
    this.deps.log.warn("a bot's connection to WeCom closed: its agent is disconnected so that it logs in again", { bot: bot.alias, reason });
    link.session.close(1012, 'the connection to WeCom was lost: log in again');
    link.session = undefined;
  }

  /** A frame from WeCom: remembered (a callback's chat), audited as metadata, relayed unchanged to the bot's agent. */
  private inbound(bot: Bot, upstream: BotUpstream, frame: Frame, text: string): void {
    const link = this.links.get(bot.alias);
    if (!link || link.upstream !== upstream) return;
    const body = isObject(frame.body) ? frame.body : {};
    const event = isObject(body.event) && typeof body.event.eventtype === 'string' ? body.event.eventtype : undefined;
    const callback = frame.cmd === 'aibot_msg_callback' || frame.cmd === 'aibot_event_callback';
    this.count(bot, frame.cmd === 'aibot_msg_callback' ? 'callback' : 'event');
    const chat = callback ? this.chats.remember(bot.alias, frame.headers.req_id, body) : undefined;
    const session = link.session;
    this.deps.audit.record({
      decision: 'received',
      request_id: randomUUID(),
      who: 'wecom',
      what: { route: frame.cmd === 'aibot_msg_callback' ? 'bot.msg_callback' : frame.cmd === 'aibot_event_callback' ? 'bot.event_callback' : 'bot.inbound', robot: `bot:${bot.alias}`, msgtype: event ?? (typeof body.msgtype === 'string' ? body.msgtype : undefined), msgid: typeof body.msgid === 'string' ? body.msgid : undefined, chat: chat?.chatid, sender: chat?.userid },
      ...(session ? {} : { why: { reason: 'no agent connected: not relayed' } }),
    });
    session?.send(text);
    if (event === 'disconnected_event') {
      // WeCom moved the bot to another connection: someone logged in with the real secret elsewhere.
      this.deps.log.error('WeCom moved the bot to another connection (disconnected_event): is its real secret used outside the firewall?', { bot: bot.alias });
      link.session = undefined;
      session?.close(1000, 'disconnected by WeCom');
      link.upstream = undefined;
      upstream.close();
    }
  }
}

/** A stream reply sent after approval is its final state. */
function finished(body: Record<string, unknown>): Record<string, unknown> {
  return (body.msgtype === 'stream' || body.msgtype === 'stream_with_template_card') && isObject(body.stream) ? { ...body, stream: { ...body.stream, finish: true } } : body;
}

/** A reply as a new message to its chat (its req_id can no longer be answered), or undefined when it has no such form. */
function asNewMessage(body: Record<string, unknown>, chatid: string): Record<string, unknown> | undefined {
  const text = (v: unknown) => (isObject(v) && typeof v.content === 'string' ? v.content : undefined);
  const content = body.msgtype === 'stream' || body.msgtype === 'stream_with_template_card' ? text(body.stream) : body.msgtype === 'text' ? text(body.text) : body.msgtype === 'markdown' ? text(body.markdown) : undefined;
  if (content !== undefined) return { chatid, msgtype: 'markdown', markdown: { content } };
  if (body.msgtype === 'template_card' && isObject(body.template_card)) return { chatid, msgtype: 'template_card', template_card: body.template_card };
  return undefined;
}
