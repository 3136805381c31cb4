/** The routes the firewall serves; everything else is refused before policies run. */
export type Route = HttpRoute | BotRoute;
export type HttpRoute = 'webhook.send' | 'webhook.upload_media' | 'app.gettoken' | 'app.message_send' | 'app.appchat_send' | 'app.media_upload' | 'app.media_get' | 'app.admin' | 'app.other';
/** Outbound frames on the bot WebSocket (lib/transports/bot/), by command. */
export type BotRoute = 'bot.respond_msg' | 'bot.send_msg' | 'bot.respond_update_msg' | 'bot.respond_welcome_msg' | 'bot.upload_media' | 'bot.send_biz_msg' | 'bot.other';

export type Action = 'allow' | 'reject' | 'approve';

/** enforce (default): the rule decides when it applies; monitor: its decision is recorded as "would have", evaluation goes on. */
export type RuleMode = 'enforce' | 'monitor';

/** What policies see of a request: plain data, no HTTP. */
export interface PolicyRequest {
  route: Route;
  path: string;
  /** The robot alias (webhook routes), the app name (app routes) or the bot alias (bot routes). */
  robot?: string;
  app?: string;
  bot?: string;
  caller: string;
  /** webhook/send: the body's msgtype; upload_media: the type query parameter; bot frames: body.msgtype, or the upload's type. */
  msgtype?: string;
  /**
   * webhook/send, message/send, appchat/send: the parsed body; upload_media: { type, media: { filename,
   * size, contentType } }; privileged app endpoints: the JSON body, or the query parameters of a GET.
   * Bot frames: the frame's body; a reply (respond_*) also carries the chat it answers, as remembered
   * from the inbound callback: `chatid` (the group, or the user of a single chat), `chattype` and
   * `from: { userid }`; bot.send_msg also `chattype` when the firewall knows its chatid from a
   * callback; bot.upload_media: { type, media: { filename, size } } (init, for the whole upload).
   * These chat fields are the firewall's, never the agent's: a `chattype` or `from` (and on a reply
   * a `chatid`) the agent wrote into the body is replaced, or removed when the firewall does not
   * know the chat, so that policies (the bot mass-mention rule) can trust them.
   */
  payload: unknown;
}

export interface Decision {
  action: Action;
  /** The rule that decided, or "default". */
  rule: string;
  pack: string;
  reason: string;
  /** For reject: the errcode to answer with. */
  errcode?: number;
  /** For violates-rules: the first schema failure, as "<pointer> <message>". */
  detail?: string;
  /** For approve: the rule's own approvers (groups expanded), count and wait; absent = the config's defaults. */
  approval?: ApprovalRequirement;
  /** Rules in `mode: monitor` that applied before the deciding rule: what they would have decided (not enforced). */
  monitored?: MonitorHit[];
}

/** A monitor-mode rule that applied: what it would have decided had it been enforced. */
export interface MonitorHit {
  rule: string;
  pack: string;
  would: Action;
  /** For a violates-rule: the first schema failure, as for Decision.detail. */
  detail?: string;
}

export interface ApprovalRequirement {
  approvers?: string[];
  required: number;
  ttlMs?: number;
  /** hold: the agent's request stays open up to holdMs for the outcome; park (default): 202 at once. */
  mode: 'park' | 'hold';
  holdMs: number;
}
