import { createHash, timingSafeEqual } from 'node:crypto';
import { BotUploads } from './bot-upload.js';
import { FaultQueue } from './faults.js';
import { RollingWindow } from './rate.js';
import type { BotConfig, BotFrame, BotStream, BotSubscribe } from './types.js';

// What the bot channel remembers, apart from the live sockets (bot.ts): the configured bots, every
// subscribe attempt and frame, the callbacks pushed (whose req_ids replies must reuse), the streams
// and the uploads. Part of SimulatorState, so the /__sim endpoints see the same records.

/** A callback pushed to a bot: replies name it by req_id. */
export interface SentCallback {
  botId: string;
  cmd: string;
  /** event.eventtype of an event callback. */
  eventtype: string | undefined;
  /** Unix milliseconds. */
  at: number;
}

export class BotState {
  readonly uploads = new BotUploads();
  /** failNextBot's queue, the HTTP API's FaultQueue with a cmd standing for the path ("/<cmd>"). */
  readonly #faults = new FaultQueue();
  readonly rate: RollingWindow;
  /** botId → SHA-256 of its secret: compared in constant time, never printed. */
  readonly #secrets = new Map<string, Buffer>();
  #subscribes: BotSubscribe[] = [];
  #frames: BotFrame[] = [];
  readonly #streams = new Map<string, BotStream>();
  readonly #callbacks = new Map<string, SentCallback>();

  constructor(configs: readonly BotConfig[] = [], ratePerMinute = 0) {
    if (!Array.isArray(configs)) throw new RangeError('bots must be an array of {botId, secret}');
    for (const [index, config] of configs.entries()) {
      const { botId, secret } = (config ?? {}) as Partial<BotConfig>;
      if (typeof botId !== 'string' || botId === '') throw new RangeError(`bots[${index}].botId must be a non-empty string`);
      if (typeof secret !== 'string' || secret === '') throw new RangeError(`bots[${index}].secret must be a non-empty string`);
      if (this.#secrets.has(botId)) throw new RangeError(`bots[${index}]: botId ${botId} is configured twice`);
      this.#secrets.set(botId, sha256(secret));
    }
    if (!Number.isInteger(ratePerMinute) || ratePerMinute < 0) throw new RangeError(`botRatePerMinute must be a non-negative integer, got ${ratePerMinute}`);
    this.rate = new RollingWindow(ratePerMinute);
  }

  /** Checks and records one subscribe attempt. `secret` null: none was presented as a string. */
  subscribe(botId: string, secret: string | null, at: number): BotSubscribe {
    const expected = this.#secrets.get(botId);
    const presented = secret === null ? undefined : sha256(secret);
    const secretMatches = expected !== undefined && presented !== undefined && timingSafeEqual(expected, presented);
    const attempt: BotSubscribe = { botId, ok: secretMatches, secretMatches, secretSha256: presented?.toString('hex') ?? null, at };
    this.#subscribes.push(attempt);
    return attempt;
  }

  subscribes(botId?: string): BotSubscribe[] {
    return this.#subscribes.filter((attempt) => botId === undefined || attempt.botId === botId).map((attempt) => ({ ...attempt }));
  }

  /** The next `count` frames (of `cmd` only, when given) are refused with `errcode`. */
  failNext(count: number, errcode = -1, cmd?: string): void {
    this.#faults.add(count, errcode, cmd === undefined ? undefined : `/${cmd}`);
  }

  /** The injected errcode a frame of `cmd` meets, if one is next for it. */
  takeFault(cmd: string): number | undefined {
    return this.#faults.take(`/${cmd}`);
  }

  recordFrame(frame: BotFrame): void {
    this.#frames.push(frame);
  }

  frames(botId?: string): BotFrame[] {
    return this.#frames.filter((frame) => botId === undefined || frame.botId === botId);
  }

  rememberCallback(reqId: string, callback: SentCallback): void {
    this.#callbacks.set(reqId, callback);
  }

  /** The callback `reqId` names, if it was pushed to this bot (another bot's req_id is as unknown as a made-up one). */
  callback(botId: string, reqId: string): SentCallback | undefined {
    const callback = this.#callbacks.get(reqId);
    return callback?.botId === botId ? callback : undefined;
  }

  stream(botId: string, reqId: string, streamId: string): BotStream | undefined {
    return this.#streams.get(streamKey(botId, reqId, streamId));
  }

  /** An accepted stream frame. A frame without content keeps the text so far. */
  updateStream(botId: string, reqId: string, streamId: string, content: string | undefined, finish: boolean): void {
    const key = streamKey(botId, reqId, streamId);
    const stream = this.#streams.get(key) ?? { botId, req_id: reqId, streamId, content: '', finished: false, frames: 0 };
    this.#streams.set(key, { ...stream, content: content ?? stream.content, finished: finish, frames: stream.frames + 1 });
  }

  streams(botId?: string): BotStream[] {
    return [...this.#streams.values()].filter((stream) => botId === undefined || stream.botId === botId);
  }

  /** The configured bots stay; everything recorded or pending goes. */
  reset(): void {
    this.#subscribes = [];
    this.#frames = [];
    this.#streams.clear();
    this.#callbacks.clear();
    this.uploads.clear();
    this.#faults.clear();
    this.rate.clear();
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function streamKey(botId: string, reqId: string, streamId: string): string {
  return JSON.stringify([botId, reqId, streamId]);
}
