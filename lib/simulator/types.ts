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
  /** Unix-milliseconds clock for token expiry, media expiry, stream expiry and every rate window; default Date.now. For tests. */
  clock?: () => number;
  /** Intelligent robots (智能机器人) that may subscribe on the bot WebSocket. None: every bot id is unknown (40001). */
  bots?: BotConfig[];
  /**
   * Accepted bot messages per bot per rolling minute (45009 past it); default 0, no limit. WeCom
   * publishes no limit for bots, so none is assumed. Counted: aibot_send_msg, aibot_send_biz_msg,
   * the replies, and a stream once (its first frame), not uploads.
   */
  botRatePerMinute?: number;
}

/** An intelligent robot's long-connection credentials, as in the admin console (BotID and Secret). */
export interface BotConfig {
  botId: string;
  secret: string;
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

/** One aibot_subscribe frame: who tried, and whether it worked. The secret itself is never kept. */
export interface BotSubscribe {
  /** bot_id as presented ('' when missing or not a string). */
  botId: string;
  /** The subscribe was answered errcode 0. */
  ok: boolean;
  /** The bot exists and the secret was its own. */
  secretMatches: boolean;
  /** SHA-256 (hex) of the secret presented, so a spec can tell which secret was used; null when none was a string. */
  secretSha256: string | null;
  /** Unix milliseconds. */
  at: number;
}

/** One frame a subscribed bot connection sent (pings excluded), with the errcode its ack carried. */
export interface BotFrame {
  botId: string;
  /** '' when the frame was not a JSON object with a string cmd. */
  cmd: string;
  req_id: string;
  /** As received; null when the frame was not JSON. */
  body: unknown;
  /** 0: accepted. Anything else: refused with that errcode. */
  errcode: number;
  /** The errcode came from failNextBot, not from the frame's content. */
  injected?: boolean;
  /** Unix milliseconds. */
  at: number;
}

/** The latest state of one streamed reply (aibot_respond_msg with msgtype stream). */
export interface BotStream {
  botId: string;
  /** The inbound callback's req_id the stream answers. */
  req_id: string;
  streamId: string;
  /** The content of the last accepted frame: each frame carries the whole text so far. */
  content: string;
  finished: boolean;
  /** Accepted frames of this stream. */
  frames: number;
}

/** The frames WeCom pushes to a bot: a message from a user, or an event. */
export type BotCallbackCmd = 'aibot_msg_callback' | 'aibot_event_callback';

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
   * Pushes a callback to the bot's subscribed connection and returns its req_id, which replies
   * (aibot_respond_msg, _update_msg, _welcome_msg) must reuse. Missing fields get defaults: msgid,
   * aibotid = botId, create_time (clock, seconds), chattype "single", from.userid "sim-user",
   * msgtype "text" (text.content "hello") or "event" for an event callback. Throws when the bot has
   * no subscribed connection.
   */
  botCallback(botId: string, body?: Record<string, unknown>, cmd?: BotCallbackCmd): string;
  /** Every frame subscribed bot connections sent (for `botId`, or all), accepted and refused, in order; pings excluded. */
  botFrames(botId?: string): BotFrame[];
  /** The latest state of every streamed reply (for `botId`, or all). */
  botStreams(botId?: string): BotStream[];
  /** Every aibot_subscribe attempt (for `botId`, or all), in order. */
  subscribes(botId?: string): BotSubscribe[];
  /** How many connections are currently subscribed as `botId` (0 or 1: a new one displaces the older). */
  botConnections(botId: string): number;
  /**
   * Closes the bot's connections from WeCom's side, as a server restart would: `close` sends a
   * close frame (1012, service restart), `terminate` drops the TCP connection. Returns how many.
   */
  dropBot(botId: string, how?: 'close' | 'terminate'): number;
  /** The next `count` bot frames (other than ping and subscribe; of `cmd` only, when given) are refused with `errcode` (default -1). */
  failNextBot(count: number, errcode?: number, cmd?: string): void;
  /**
   * Clears received messages, media, rate windows, faults, request counts, app messages, admin
   * calls and the gettoken count, and the bots' subscribes, frames, streams, callbacks and uploads.
   * Issued access_tokens stay valid and bot connections stay subscribed, so a client's cached
   * token and a firewall's upstream connection survive between tests.
   */
  reset(): void;
  /** Closes bot connections too, without waiting for their clients. */
  close(): Promise<void>;
}
