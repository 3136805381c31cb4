/** The routes the firewall serves; everything else is refused before policies run. */
export type Route = 'webhook.send' | 'webhook.upload_media';

export type Action = 'allow' | 'reject' | 'approve';

/** What policies see of a request: plain data, no HTTP. */
export interface PolicyRequest {
  route: Route;
  path: string;
  robot: string;
  caller: string;
  /** webhook/send: the body's msgtype; upload_media: the type query parameter. */
  msgtype?: string;
  /** webhook/send: the parsed body; upload_media: { type, media: { filename, size, contentType } }. */
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
}
