export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Webhook keys that exist. Empty or undefined: any UUID-shaped key (8-4-4-4-12 hex) exists. */
  keys?: string[];
  /** Accepted messages per key per rolling minute; default 20 (WeCom's limit); 0 disables the limit. */
  ratePerMinute?: number;
  /** No per-request log lines. */
  quiet?: boolean;
}

export interface ReceivedMessage {
  key: string;
  path: string;
  /** Parsed JSON for webhook/send (null when unparsable); `{type, filename, size}` for upload_media. */
  body: unknown;
  /** The body text for webhook/send; empty for upload_media, whose body is binary. */
  raw: string;
  /** Unix milliseconds. */
  at: number;
  /** The errcode answered. */
  errcode: number;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:54321 */
  url: string;
  port: number;
  /** Every request that reached webhook/send or upload_media, with the errcode answered. */
  received(key?: string): ReceivedMessage[];
  /** Only the webhook/send requests answered errcode 0: the messages that would appear in the group. */
  delivered(key?: string): ReceivedMessage[];
  /** The next `count` webhook requests answer `errcode` (default -1, "system busy") regardless of content. */
  failNext(count: number, errcode?: number): void;
  /** Clears received messages, media, rate windows and faults. */
  reset(): void;
  close(): Promise<void>;
}
