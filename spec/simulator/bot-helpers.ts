import { WSClient, type WSClientEventMap, type WSClientOptions, type WsFrame } from '@wecom/aibot-node-sdk';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Simulator } from '../../lib/simulator/index.js';

// Drivers for the simulator's bot long connection: the published SDK where it can express the
// case, a bare `ws` client where it cannot (frames out of order, made-up req_ids, garbage).

export const BOT = { botId: 'aibSpecBot0001', secret: 'bot-secret-3f9a8b7c6d5e4f30a1b2' };
export const OTHER_BOT = { botId: 'aibSpecBot0002', secret: 'bot-secret-other-77aa88bb99cc' };

export const QUIET = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function wsUrl(sim: Simulator): string {
  return sim.url.replace(/^http/, 'ws');
}

/**
 * An SDK client for BOT that never waits on its own backoff: no reconnects, no auth retries, and
 * heartbeats only when a test asks for them.
 */
export function sdkClient(sim: Simulator, options: Partial<WSClientOptions> = {}): WSClient {
  return new WSClient({
    ...BOT,
    wsUrl: wsUrl(sim),
    logger: QUIET,
    maxReconnectAttempts: 0,
    maxAuthFailureAttempts: 0,
    heartbeatInterval: 600_000,
    ...options,
  });
}

/** The next `event` the client emits, with its first argument. */
export function next<E extends keyof WSClientEventMap>(client: WSClient, event: E): Promise<Parameters<WSClientEventMap[E]>[0]> {
  type Value = Parameters<WSClientEventMap[E]>[0];
  return new Promise((resolve) => client.once(event, ((value: Value) => resolve(value)) as never));
}

/** Connects and resolves once subscribed; rejects with the SDK's first error (e.g. a refused subscribe). */
export async function connect(client: WSClient): Promise<WSClient> {
  const failed = next(client, 'error').then((error) => Promise.reject(error));
  client.connect();
  await Promise.race([next(client, 'authenticated'), failed]);
  failed.catch(() => {}); // a later error belongs to the test, not to this race
  return client;
}

/** The errcode of an ack: the SDK resolves with it on 0 and rejects with the raw ack frame otherwise. */
export async function errcodeOf(reply: Promise<unknown>): Promise<number | undefined> {
  try {
    return ((await reply) as WsFrame).errcode;
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'errcode' in error) return (error as WsFrame).errcode;
    throw error;
  }
}

export type Frame = { cmd?: string; headers: { req_id: string }; errcode?: number; errmsg?: string; body?: Record<string, unknown> };

/** A bare client: sends whatever a test writes and hands back each frame the simulator pushes. */
export class RawBot {
  readonly #ws: WebSocket;
  readonly #inbox: Frame[] = [];
  #waiting: ((frame: Frame) => void) | undefined;
  /** The close code, once the simulator (or the test) closed the connection. */
  readonly closed: Promise<number>;
  #counter = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (this.#waiting) this.#waiting(frame);
      else this.#inbox.push(frame);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
  }

  static open(sim: Simulator): Promise<RawBot> {
    const ws = new WebSocket(wsUrl(sim));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawBot(ws)));
      ws.once('error', reject);
    });
  }

  /** A RawBot subscribed as `bot`. */
  static async subscribed(sim: Simulator, bot: { botId: string; secret: string } = BOT): Promise<RawBot> {
    const raw = await RawBot.open(sim);
    const answer = await raw.request('aibot_subscribe', { bot_id: bot.botId, secret: bot.secret });
    if (answer.errcode !== 0) throw new Error(`subscribe answered ${answer.errcode}`);
    return raw;
  }

  /** Sends a frame (an object as JSON, a string or Buffer as is). */
  send(frame: unknown): void {
    this.#ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** Sends `{cmd, headers:{req_id}, body}` and resolves with the next frame (its ack). */
  request(cmd: string, body?: unknown, reqId = `${cmd}_${Date.now()}_${++this.#counter}`): Promise<Frame> {
    this.send({ cmd, headers: { req_id: reqId }, body });
    return this.next();
  }

  next(): Promise<Frame> {
    const frame = this.#inbox.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve) => {
      this.#waiting = (value) => {
        this.#waiting = undefined;
        resolve(value);
      };
    });
  }

  close(): void {
    this.#ws.terminate();
  }
}
