import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Bot } from '../../config/load.js';
import { UpstreamRefusal } from '../../upstream/guard.js';
import { commandText, newReqId, parseFrame, type Frame } from './frames.js';

// The firewall's own WebSocket to WeCom for one bot, logged in with the real secret. Frames the
// firewall sends wait for their ack (matched by req_id); frames WeCom sends (callbacks, events) are
// emitted as 'inbound' with their text, to be relayed unchanged. It never reconnects by itself: the
// channel opens a new one when an agent logs in again or an approved message must go out.
//
// Every failure says whether WeCom may have the frame (UpstreamRefusal.mayHaveArrived), as the HTTP
// guard's do: not connected → certainly not; no ack in time, or the socket closed before the ack → may have.

/** WeCom refused the firewall's login (the real secret is wrong, the bot is disabled): its ack, for the agent. */
export class BotLoginRefused extends Error {
  constructor(readonly ack: Frame) {
    super(`WeCom refused the bot's login: errcode ${ack.errcode}`);
    this.name = 'BotLoginRefused';
  }
}

interface Waiting {
  resolve: (ack: { frame: Frame; text: string }) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The firewall pings WeCom when nothing else was sent for this long (the SDK's own interval). */
const KEEPALIVE_MS = 30_000;

export class BotUpstream extends EventEmitter<{ inbound: [frame: Frame, text: string]; closed: [reason: string] }> {
  private ws?: WebSocket;
  private readonly waiting = new Map<string, Waiting>();
  private lastSent = 0;
  private keepalive?: NodeJS.Timeout;
  private closedWith?: string;
  /** WeCom's answer to the firewall's login. */
  loginAck?: Frame;

  constructor(
    readonly bot: Bot,
    private readonly url: URL,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.closedWith === undefined;
  }

  /** Connects and logs in with the real secret: resolves with WeCom's ack, rejects BotLoginRefused or an UpstreamRefusal. */
  async login(subscribeBody: Record<string, unknown>): Promise<Frame> {
    const ws = new WebSocket(this.url, { handshakeTimeout: this.timeoutMs, maxPayload: 4 * 1024 * 1024 });
    this.ws = ws;
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? '' : data.toString()));
    ws.on('close', (code) => this.shut(`WeCom closed the connection (${code})`));
    ws.on('error', (err) => this.shut(`connection to WeCom failed: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('close', () => reject(new UpstreamRefusal('UPSTREAM_UNAVAILABLE', `could not connect to ${this.url.origin}: ${this.closedWith ?? 'closed'}`, 0, false)));
    });
    let frame: Frame;
    try {
      ({ frame } = await this.request('aibot_subscribe', newReqId('aibot_subscribe'), JSON.stringify({ ...subscribeBody, bot_id: this.bot.botId, secret: this.bot.secret })));
    } catch (err) {
      this.close(); // no answer in time: this socket must not become the bot's connection later
      throw err;
    }
    if (frame.errcode !== 0) {
      this.close();
      throw new BotLoginRefused(frame);
    }
    this.loginAck = frame;
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastSent >= KEEPALIVE_MS) void this.request('ping', newReqId('ping')).catch(() => undefined);
    }, KEEPALIVE_MS).unref();
    return frame;
  }

  /** Sends a command and waits for its ack (WeCom's answer, with its errcode); `body` is sent as these exact bytes. */
  request(cmd: string, reqId: string, body?: Buffer | string): Promise<{ frame: Frame; text: string }> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.closedWith !== undefined) {
      return Promise.reject(new UpstreamRefusal('UPSTREAM_UNAVAILABLE', `the bot's connection to WeCom is not open${this.closedWith ? ` (${this.closedWith})` : ''}`, 0, false));
    }
    if (this.waiting.has(reqId)) return Promise.reject(new UpstreamRefusal('UPSTREAM_UNAVAILABLE', 'a frame with this req_id is already waiting for its ack', 0, false));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(reqId);
        reject(new UpstreamRefusal('UPSTREAM_TIMEOUT', `WeCom did not ack ${cmd} within ${this.timeoutMs} ms`, 1, true));
      }, this.timeoutMs);
      this.waiting.set(reqId, { resolve, reject, timer });
      this.lastSent = Date.now();
      const text = body === undefined ? JSON.stringify({ cmd, headers: { req_id: reqId } }) : commandText(cmd, reqId, body);
      ws.send(text, (err) => {
        // Not handed to the socket: WeCom certainly does not have it.
        if (err) this.settle(reqId, undefined, new UpstreamRefusal('UPSTREAM_UNAVAILABLE', `could not send to WeCom: ${err.message}`, 0, false));
      });
    });
  }

  close(): void {
    this.shut('closed by the firewall');
    this.ws?.close(1000);
  }

  private onMessage(text: string): void {
    let frame: Frame;
    try {
      frame = parseFrame(text, { checkBody: false });
    } catch {
      return; // WeCom sent something unreadable: nothing to relay or match; the connection stays
    }
    if (frame.cmd === undefined) this.settle(frame.headers.req_id, { frame, text });
    else this.emit('inbound', frame, text);
  }

  private settle(reqId: string, ack?: { frame: Frame; text: string }, err?: Error): void {
    const w = this.waiting.get(reqId);
    if (!w) return; // a late ack, or one for nobody: dropped
    this.waiting.delete(reqId);
    clearTimeout(w.timer);
    if (ack) w.resolve(ack);
    else w.reject(err!);
  }

  /** Closed: frames still waiting for an ack had been sent, so WeCom may have them. */
  private shut(reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    clearInterval(this.keepalive);
    for (const reqId of [...this.waiting.keys()]) this.settle(reqId, undefined, new UpstreamRefusal('UPSTREAM_OUTCOME_UNKNOWN', `${reason} before WeCom acked the frame`, 1, true));
    this.emit('closed', reason);
  }
}
