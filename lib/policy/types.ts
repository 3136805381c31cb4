/** The routes the firewall serves; everything else is refused before policies run. */
export type Route = 'webhook.send' | 'webhook.upload_media' | 'app.gettoken' | 'app.message_send' | 'app.appchat_send' | 'app.media_upload' | 'app.media_get' | 'app.admin' | 'app.other';

export type Action = 'allow' | 'reject' | 'approve';

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
}

export interface ApprovalRequirement {
  approvers?: string[];
  required: number;
  ttlMs?: number;
  /** hold: the agent's request stays open up to holdMs for the outcome; park (default): 202 at once. */
  mode: 'park' | 'hold';
  holdMs: number;
}
