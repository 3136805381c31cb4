/** The routes the firewall serves; everything else is refused before policies run. */
export type Route = 'webhook.send' | 'webhook.upload_media' | 'app.gettoken' | 'app.message_send' | 'app.appchat_send' | 'app.media_upload' | 'app.media_get' | 'app.admin' | 'app.other';

export type Action = 'allow' | 'reject' | 'approve';

/** enforce (default): the rule decides when it applies; monitor: its decision is recorded as "would have", evaluation goes on. */
export type RuleMode = 'enforce' | 'monitor';

/** What policies see of a request: plain data, no HTTP. */
export interface PolicyRequest {
  route: Route;
  path: string;
  /** The robot alias (webhook routes) or the app name (app routes). */
  robot?: string;
  app?: string;
  caller: string;
  /** webhook/send: the body's msgtype; upload_media: the type query parameter. */
  msgtype?: string;
  /**
   * webhook/send, message/send, appchat/send: the parsed body; upload_media: { type, media: { filename,
   * size, contentType } }; privileged app endpoints: the JSON body, or the query parameters of a GET.
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
