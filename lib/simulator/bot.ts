import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { eventtypeOf, runCommand } from './bot-commands.js';
import { ack, callbackBody, CMD, disconnectedEvent, INVALID_CREDENTIAL, parseFrame, subscribeFields, type Ack, type InboundFrame, type Parsed, type Push } from './bot-frames.js';
import type { BotState } from './bot-state.js';
import { invalid, type Verdict } from './shape.js';
import type { BotCallbackCmd } from './types.js';

// The intelligent robot's long connection, as wss://openws.work.weixin.qq.com serves it: a
// WebSocket on the simulator's HTTP port (any path; the SDK uses "/"). Each connection must first
// subscribe as a bot; then it pings, sends commands (bot-commands.ts) and receives the callbacks a
// test pushes. A bot has one live connection: a newer subscribe displaces the older one, which gets
// a disconnected_event and is closed, as WeCom does.

/**
 * WeCom's frame limit is not published. The largest frame the SDK builds is a stream's final frame
 * with 10 inline images of up to 2 MB each (about 27 MB of base64); a bigger frame closes the
 * connection with 1009, as ws does.
 */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;
const CLOSE_NORMAL = 1000;
const CLOSE_POLICY = 1008;
const CLOSE_RESTART = 1012;

type Log = (line: string) => void;

interface Connection {
  ws: WebSocket;
  ip: string;
  /** Set once the connection has subscribed. */
  botId: string | undefined;
}

export class BotHub {
  readonly state: BotState;
  readonly #now: () => number;
  readonly #log: Log;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  readonly #connections = new Set<Connection>();

  constructor(state: BotState, now: () => number, log: Log) {
    this.state = state;
    this.#now = now;
    this.#log = log;
  }

  /** The HTTP server's 'upgrade' handler. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, (req.socket.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/, '')));
  }

  /** Pushes a callback on the bot's connection; returns the req_id its replies must reuse. */
  callback(botId: string, body: Record<string, unknown> = {}, cmd: BotCallbackCmd = CMD.msgCallback): string {
    if (cmd !== CMD.msgCallback && cmd !== CMD.eventCallback) throw new RangeError(`callback cmd must be ${CMD.msgCallback} or ${CMD.eventCallback}, got ${String(cmd)}`);
    const connection = this.#subscribed(botId).at(-1);
    if (!connection) throw new Error(`bot ${botId} has no subscribed connection`);
    const now = this.#now();
    const { reqId, msgid } = pushIds(cmd, now);
    const filled = callbackBody(cmd, body, { botId, now, msgid });
    this.state.rememberCallback(reqId, { botId, cmd, eventtype: eventtypeOf(filled), at: now });
    this.#send(connection, { cmd, headers: { req_id: reqId }, body: filled });
    return reqId;
  }

  /** Connections subscribed as `botId` and still open. */
  connections(botId: string): number {
    return this.#subscribed(botId).length;
  }

  /** Closes the bot's connections from WeCom's side; returns how many. */
  drop(botId: string, how: 'close' | 'terminate' = 'close'): number {
    if (how !== 'close' && how !== 'terminate') throw new RangeError(`dropBot how must be close or terminate, got ${String(how)}`);
    const dropped = this.#subscribed(botId);
    for (const connection of dropped) {
      if (how === 'terminate') connection.ws.terminate();
      else connection.ws.close(CLOSE_RESTART, 'service restart');
    }
    if (dropped.length > 0) this.#log(`bot ${botId}: ${dropped.length} connection(s) dropped (${how})`);
    return dropped.length;
  }

  /** Drops every socket at once: an HTTP server's close() does not wait for upgraded connections, nor end them. */
  closeAll(): void {
    for (const connection of this.#connections) connection.ws.terminate();
    this.#connections.clear();
  }

  #accept(ws: WebSocket, ip: string): void {
    const connection: Connection = { ws, ip, botId: undefined };
    this.#connections.add(connection);
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(connection, parseFrame(data, isBinary)));
    ws.on('close', () => this.#connections.delete(connection));
    // An oversized or malformed WebSocket frame: ws closes the socket itself; the error must not crash the simulator.
    ws.on('error', (error) => this.#log(`bot connection error: ${error.message}`));
  }

  #subscribed(botId: string): Connection[] {
    return [...this.#connections].filter((connection) => connection.botId === botId && connection.ws.readyState === connection.ws.OPEN);
  }

  #onMessage(connection: Connection, parsed: Parsed): void {
    // A connection being closed (displaced, dropped, refused) takes no more frames, even those already on the wire.
    if (connection.ws.readyState !== connection.ws.OPEN) return;
    const now = this.#now();
    if (connection.botId === undefined) return this.#subscribe(connection, parsed, now);
    const { frame } = parsed;
    if (parsed.ok && frame.cmd === CMD.ping) return this.#send(connection, ack(frame.reqId, { errcode: 0 }, connection.ip));
    const botId = connection.botId;
    const answer = parsed.ok ? this.#command(botId, frame, now) : { verdict: parsed.problem, injected: false };
    const { verdict, body, injected } = answer;
    this.state.recordFrame({ botId, cmd: frame.cmd, req_id: frame.reqId, body: frame.body, errcode: verdict.errcode, at: now, ...(injected ? { injected } : {}) });
    this.#log(`bot ${botId} ${frame.cmd || '(no cmd)'} → errcode ${verdict.errcode}${injected ? ' (injected)' : ''}`);
    this.#send(connection, ack(frame.reqId, verdict, connection.ip, body));
  }

  #command(botId: string, frame: InboundFrame, now: number): { verdict: Verdict; body?: Record<string, unknown>; injected: boolean } {
    // Subscribing twice on one connection: WeCom's answer is not published; refused, the first subscribe stands.
    if (frame.cmd === CMD.subscribe) return { verdict: invalid('already subscribed'), injected: false };
    const errcode = this.state.takeFault(frame.cmd);
    if (errcode !== undefined) return { verdict: { errcode }, injected: true };
    return { ...runCommand(this.state, botId, frame, now), injected: false };
  }

  /**
   * The first frame must be a valid aibot_subscribe. Anything else, an unknown bot or a wrong
   * secret: an error ack (40001), then the connection is closed.
   */
  #subscribe(connection: Connection, parsed: Parsed, now: number): void {
    const { frame } = parsed;
    if (!parsed.ok || frame.cmd !== CMD.subscribe) {
      this.#log(`bot connection: ${frame.cmd || 'a malformed frame'} before aibot_subscribe → closed`);
      return this.#refuse(connection, frame.reqId, { errcode: INVALID_CREDENTIAL, detail: 'aibot_subscribe must come first' });
    }
    const { botId, secret } = subscribeFields(frame.body);
    const attempt = this.state.subscribe(botId, secret, now);
    this.#log(`bot ${botId || '(no bot_id)'} subscribe → ${attempt.ok ? 'ok' : 'invalid credential'}`);
    if (!attempt.ok) return this.#refuse(connection, frame.reqId, { errcode: INVALID_CREDENTIAL });
    for (const older of this.#subscribed(botId)) {
      const { reqId, msgid } = pushIds(CMD.eventCallback, now);
      this.#send(older, disconnectedEvent(reqId, { botId, now, msgid }));
      older.ws.close(CLOSE_NORMAL, 'replaced by a new connection');
    }
    connection.botId = botId;
    this.#send(connection, ack(frame.reqId, { errcode: 0 }, connection.ip));
  }

  #refuse(connection: Connection, reqId: string, verdict: Verdict): void {
    this.#send(connection, ack(reqId, verdict, connection.ip));
    connection.ws.close(CLOSE_POLICY, 'invalid credential');
  }

  #send(connection: Connection, frame: Ack | Push): void {
    if (connection.ws.readyState === connection.ws.OPEN) connection.ws.send(JSON.stringify(frame));
  }
}

/** WeCom's own req_ids are not published; these follow the SDK's `${prefix}_${ms}_${hex}` and are unique. */
function pushIds(cmd: string, now: number): { reqId: string; msgid: string } {
  return { reqId: `${cmd}_${now}_${randomBytes(8).toString('hex')}`, msgid: randomBytes(16).toString('hex') };
}
