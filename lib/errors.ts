// The one table of every refusal the firewall can answer. Each has a stable code (for our logs and
// tests), an HTTP status (some clients read only the status) and a WeCom-style errcode (most clients
// branch on it). Where WeCom has an errcode with the same meaning we reuse it, so existing clients
// react as they already do; the firewall's own meanings use 7-digit codes starting 99, which WeCom
// does not use. The README's errcode table is generated from the same facts: keep them in step.

export const ERRORS = {
  // request shape
  INVALID_PAYLOAD: { status: 400, errcode: 40058, message: 'invalid request parameter' },
  INVALID_MSGTYPE: { status: 400, errcode: 40008, message: 'invalid message type' },
  EMPTY_CONTENT: { status: 400, errcode: 44004, message: 'empty content' },
  TOO_MANY_ARTICLES: { status: 400, errcode: 45008, message: 'too many articles' },
  BODY_TOO_LARGE: { status: 413, errcode: 40058, message: 'request body over the size limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, errcode: 9900004, message: 'unsupported content-type' },
  METHOD_NOT_ALLOWED: { status: 405, errcode: 9900003, message: 'method not allowed' },
  UNKNOWN_PATH: { status: 404, errcode: 9900002, message: 'path not served by the firewall' },
  // robots
  MISSING_KEY: { status: 400, errcode: 93000, message: 'missing webhook key' },
  UNKNOWN_ROBOT: { status: 404, errcode: 93000, message: 'unknown robot alias' },
  // decisions
  POLICY_REJECTED: { status: 403, errcode: 9900001, message: 'rejected by policy' },
  RATE_LIMITED: { status: 429, errcode: 45009, message: 'api freq out of limit' },
  // fail closed: our own parts broke, so we refuse rather than forward unchecked
  LIMITER_UNAVAILABLE: { status: 503, errcode: 9900006, message: 'rate limiter unavailable' },
  STORE_UNAVAILABLE: { status: 503, errcode: 9900005, message: 'approval store unavailable' },
  AUDIT_UNAVAILABLE: { status: 503, errcode: 9900008, message: 'audit log unavailable' },
  TOO_MANY_PENDING: { status: 429, errcode: 45009, message: 'too many messages waiting for approval' },
  BODY_ALREADY_READ: { status: 500, errcode: 9900007, message: 'request body consumed before the firewall' },
  INTERNAL: { status: 500, errcode: 9900099, message: 'internal error' },
  // WeCom itself could not be reached or did not act; -1 is WeCom's "system busy: retry", and it is
  // only answered when WeCom certainly did not get the message (refused, DNS, a gateway's 502/503,
  // -1 on every attempt), so an agent's own retry cannot make one message two.
  UPSTREAM_UNAVAILABLE: { status: 502, errcode: -1, message: 'upstream unavailable, retry later' },
  // Resilience toward WeCom (lib/upstream/guard.ts). 9900017: the request left and its outcome is
  // unknown (WeCom may have the message): never resent by the firewall, and an agent should check
  // before it resends.
  UPSTREAM_CIRCUIT_OPEN: { status: 503, errcode: 9900016, message: 'WeCom is failing; requests are refused until a probe succeeds' },
  UPSTREAM_TIMEOUT: { status: 504, errcode: 9900017, message: 'WeCom did not answer in time; it may have received the message, which was not resent' },
  UPSTREAM_OUTCOME_UNKNOWN: { status: 502, errcode: 9900017, message: 'the connection to WeCom failed after the request was sent; it may have received the message, which was not resent' },
  UPSTREAM_BAD_ANSWER: { status: 502, errcode: 9900018, message: 'the upstream answered something that is not WeCom JSON (a gateway page?); not resent' },
  UPSTREAM_TOKEN_FAILED: { status: 502, errcode: 9900009, message: 'could not get an access token from WeCom' },
  // app API credentials (WeCom's own errcodes)
  MISSING_CORPID: { status: 400, errcode: 41002, message: 'corpid missing' },
  MISSING_CORPSECRET: { status: 400, errcode: 41004, message: 'corpsecret missing' },
  INVALID_CORPID: { status: 401, errcode: 40013, message: 'invalid corpid' },
  INVALID_CREDENTIAL: { status: 401, errcode: 40001, message: 'invalid credential' },
  MISSING_ACCESS_TOKEN: { status: 401, errcode: 41001, message: 'access_token missing' },
  INVALID_ACCESS_TOKEN: { status: 401, errcode: 40014, message: 'invalid access_token' },
  EXPIRED_ACCESS_TOKEN: { status: 401, errcode: 42001, message: 'access_token expired' },
  INVALID_AGENTID: { status: 400, errcode: 40056, message: 'invalid agentid' },
  // admin API
  UNAUTHENTICATED: { status: 401, errcode: 9900010, message: 'missing or invalid bearer token' },
  FORBIDDEN: { status: 403, errcode: 9900011, message: 'not an approver' },
  APPROVAL_NOT_FOUND: { status: 404, errcode: 9900012, message: 'no such approval' },
  APPROVAL_DECIDED: { status: 409, errcode: 9900013, message: 'approval already decided' },
  APPROVAL_CHANGED: { status: 409, errcode: 9900032, message: 'the message changed since it was shown (a parked stream grew)' },
  // held requests (approval mode hold)
  APPROVAL_REJECTED: { status: 403, errcode: 9900014, message: 'rejected by an approver' },
  APPROVAL_TIMEOUT: { status: 403, errcode: 9900015, message: 'not approved in time; not sent' },
  SHUTTING_DOWN: { status: 503, errcode: 9900023, message: 'the firewall is stopping; not sent' },
  // operations
  NOT_READY: { status: 503, errcode: 9900019, message: 'not ready' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, errcode: 9900020, message: 'Idempotency-Key already used for another message' },
  // who is calling (lib/callers/): refused before anything else is done with the request. One code
  // for every way of not being a caller, so an outsider learns nothing about which part failed.
  UNKNOWN_CALLER: { status: 403, errcode: 9900021, message: 'not a known caller' },
  CALLER_TOKEN_IN_QUERY: { status: 403, errcode: 9900022, message: 'caller token in the query string; send it as the X-Firewall-Token header or a /t/<token>/ path prefix' },
  // the egress proxy (lib/transports/egress/): a CONNECT or absolute-form request refused before any
  // tunnel is opened or anything is forwarded. 407 only where credentials could change the answer.
  PROXY_AUTH_REQUIRED: { status: 407, errcode: 9900024, message: 'proxy authentication required: use http://<caller name>:<token>@<firewall>:<port> as the proxy URL' },
  EGRESS_HOST_REFUSED: { status: 403, errcode: 9900025, message: 'not served by the egress proxy' },
  EGRESS_ADDRESS_REFUSED: { status: 403, errcode: 9900026, message: 'the tunnel host resolves to a loopback, private, link-local or reserved address' },
  EGRESS_TUNNEL_FAILED: { status: 502, errcode: 9900027, message: 'could not reach the tunnel host' },
  BOT_CHANNEL_UNAVAILABLE: { status: 501, errcode: 9900028, message: 'the bot WebSocket is not served here: no bots: are configured' },
  MISDIRECTED_REQUEST: { status: 421, errcode: 9900029, message: "the Host header names another host than the tunnel's" },
  NOT_A_PROXY_REQUEST: { status: 400, errcode: 9900030, message: 'not a proxy request: send CONNECT qyapi.weixin.qq.com:443, or an absolute https://qyapi.weixin.qq.com/... URL' },
  // the bot WebSocket (lib/transports/bot/): answered as an error ack, then the socket is closed
  BOT_NOT_SUBSCRIBED: { status: 401, errcode: 9900031, message: 'not subscribed: the first frame must be aibot_subscribe with the bot id and its client secret' },
} as const satisfies Record<string, { status: number; errcode: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A refusal with identity: callers match on `code`, clients see `status` and `errcode`. */
export class FirewallError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errcode: number;
  /** Extra headers for the answer, e.g. Retry-After or Allow. */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail?: string, options: { errcode?: number; headers?: Record<string, string>; cause?: unknown } = {}) {
    const entry = ERRORS[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message, { cause: options.cause });
    this.name = 'FirewallError';
    this.code = code;
    this.status = entry.status;
    this.errcode = options.errcode ?? entry.errcode;
    this.headers = options.headers ?? {};
  }
}

/** WeCom errcodes a policy rule may answer with when it rejects; each keeps its table status. */
export const POLICY_ERRCODES: Record<number, ErrorCode> = {
  40058: 'INVALID_PAYLOAD',
  40008: 'INVALID_MSGTYPE',
  44004: 'EMPTY_CONTENT',
  45008: 'TOO_MANY_ARTICLES',
  9900001: 'POLICY_REJECTED',
};
