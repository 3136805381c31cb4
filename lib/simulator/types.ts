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
  /** Self-built applications whose corpid/corpsecret gettoken accepts. None: every corpid is unknown (40013). */
  apps?: AppConfig[];
  /** Lifetime of an app access_token; default 7200 (WeCom's). A positive integer. */
  tokenTtlSeconds?: number;
  /** appchat chatid → member userids. Empty or undefined: any non-empty chatid exists, with unknown members. */
  chats?: Record<string, string[]>;
  /** Unix-milliseconds clock for token expiry, media expiry and every rate window; default Date.now. For tests. */
  clock?: () => number;
}

export interface AppConfig {
  corpId: string;
  corpSecret: string;
  agentId: number;
  /** The app's visible members. Empty or undefined: every userid is valid (and `@all` reaches the pseudo-member "@all"). */
  users?: string[];
  /** Department ids in the visible range. Empty or undefined: every integer id is valid. */
  parties?: number[];
  /** Tag ids in the visible range. Empty or undefined: every integer id is valid. */
  tags?: number[];
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
  /** The errcode answered; -1 when the request met an injected transport fault (see `fault`) and got no WeCom answer. */
  errcode: number;
  /** The injected transport fault the request met, if any. */
  fault?: TransportFault['kind'];
}

/**
 * A failure below WeCom's JSON, as the network or a gateway in front of WeCom produces it. Each is
 * met after the request was read in full, so the client cannot know whether WeCom acted:
 * - stall: never answered (the connection stays open until the client gives up or the simulator closes);
 * - reset: the connection is destroyed without an answer;
 * - http: an HTML error page with that HTTP status (e.g. 502, 503 from a load balancer; 500, 504);
 * - html: HTTP 200 with an HTML page (a captive portal or a misrouted proxy), not WeCom's JSON.
 * A refused connection is `refuseConnections()`.
 */
export type TransportFault = { kind: 'stall' } | { kind: 'reset' } | { kind: 'html' } | { kind: 'http'; status: number };

/** One request to message/send or appchat/send. */
export interface AppMessage {
  path: string;
  /** Parsed JSON; null when not JSON. Kept even when the request was refused before its body was checked. */
  body: unknown;
  /** The agentId of the app whose token was used; null when the token was not valid. */
  agentId: number | null;
  /** appchat/send only. */
  chatid?: string;
  /**
   * The userids the message reached. Departments and tags are not expanded to members; `@all` is
   * expanded to the app's `users`, or is the single pseudo-member "@all" when `users` is open.
   * For appchat/send: the chat's configured members (none when `chats` is open).
   */
  recipients: string[];
  /** Valid recipients the message was silently not delivered to because of WeCom's per-member limit. */
  dropped: string[];
  /** message/send answered errcode 0 only. */
  msgid?: string;
  errcode: number;
  /** Unix milliseconds. */
  at: number;
}

/** One request to a privileged endpoint (user/delete, agent/set, …). */
export interface AdminCall {
  path: string;
  method: string;
  /** The query string without access_token. */
  query: Record<string, string>;
  /** Parsed JSON body; null when there was none or it was not JSON. */
  body: unknown;
  agentId: number | null;
  errcode: number;
  at: number;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:54321 */
  url: string;
  port: number;
  /** Every request that reached webhook/send or upload_media, with the errcode answered. */
  received(key?: string): ReceivedMessage[];
  /** Only the webhook/send requests answered errcode 0: the messages that would appear in the group. */
  delivered(key?: string): ReceivedMessage[];
  /**
   * The next `count` WeCom requests (robot or app, gettoken included) answer `errcode` (default -1,
   * "system busy") regardless of content. With `path` (e.g. "/cgi-bin/message/send") only requests
   * to that path take the fault; others pass through.
   */
  failNext(count: number, errcode?: number, path?: string): void;
  /**
   * The next `count` WeCom requests (robot or app; to `path` only, when given) meet a transport
   * fault instead of an answer. Shares failNext's queue, in order.
   */
  faultNext(count: number, fault: TransportFault, path?: string): void;
  /**
   * Stops listening and drops every open connection, so connections are refused (ECONNREFUSED)
   * until acceptConnections(), or for `ms` when given. Resolves once the port is closed.
   */
  refuseConnections(ms?: number): Promise<void>;
  /** Listens again on the same port after refuseConnections(). */
  acceptConnections(): Promise<void>;
  /** Requests that reached a WeCom path (robot or app, faulted ones included), for `path` or all. */
  requestCount(path?: string): number;
  /** Every message/send and appchat/send request, with recipients, drops and the errcode answered. */
  appMessages(): AppMessage[];
  /** Every request to a privileged endpoint, with the errcode answered. */
  adminCalls(): AdminCall[];
  /** How many gettoken requests reached the simulator (whatever they were answered). */
  tokenRequests(): number;
  /** Invalidates every issued access_token now: the next call with one answers 42001; gettoken issues a new one. */
  expireTokens(): void;
  /**
   * Clears received messages, media, rate windows, faults, request counts, app messages, admin
   * calls and the gettoken count. Issued access_tokens stay valid, so a client's cached token survives between tests.
   */
  reset(): void;
  close(): Promise<void>;
}
