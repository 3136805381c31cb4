import type { AppState } from './app-state.js';
import type { BotHub } from './bot.js';
import { FaultQueue } from './faults.js';
import { MediaStore } from './media.js';
import { RollingWindow } from './rate.js';
import type { ReceivedMessage } from './types.js';

export const SEND_PATH = '/cgi-bin/webhook/send';
export const UPLOAD_PATH = '/cgi-bin/webhook/upload_media';

/** Everything one simulator remembers; the in-process API and the /__sim endpoints share it. */
export class SimulatorState {
  readonly keyExists: (key: string) => boolean;
  readonly rate: RollingWindow;
  readonly media = new MediaStore();
  /** Shared by the robot and the app API: a fault is a WeCom outage, whichever endpoint meets it. */
  readonly faults = new FaultQueue();
  readonly app: AppState;
  /** The intelligent robots' long connections and what they sent. */
  readonly bots: BotHub;
  /** Unix milliseconds; injectable so tests can move time. */
  readonly now: () => number;
  #received: ReceivedMessage[] = [];
  #requests = new Map<string, number>();
  /** Set by the server: closes the listener for `ms` (the /__sim/refuse control). */
  refuse: (ms: number) => void = () => {};

  constructor(keyExists: (key: string) => boolean, ratePerMinute: number, app: AppState, bots: BotHub, now: () => number = Date.now) {
    this.keyExists = keyExists;
    this.rate = new RollingWindow(ratePerMinute);
    this.app = app;
    this.bots = bots;
    this.now = now;
  }

  record(message: ReceivedMessage): void {
    this.#received.push(message);
  }

  received(key?: string): ReceivedMessage[] {
    return key === undefined ? [...this.#received] : this.#received.filter((message) => message.key === key);
  }

  countRequest(path: string): void {
    this.#requests.set(path, (this.#requests.get(path) ?? 0) + 1);
  }

  requestCount(path?: string): number {
    if (path !== undefined) return this.#requests.get(path) ?? 0;
    let total = 0;
    for (const n of this.#requests.values()) total += n;
    return total;
  }

  delivered(key?: string): ReceivedMessage[] {
    return this.received(key).filter((message) => message.path === SEND_PATH && message.errcode === 0);
  }

  reset(): void {
    this.#received = [];
    this.#requests.clear();
    this.media.clear();
    this.rate.clear();
    this.faults.clear();
    this.app.reset();
    this.bots.state.reset();
  }
}
