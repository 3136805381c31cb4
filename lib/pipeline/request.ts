import type { AuditRecord } from '../audit/audit.js';
import type { FirewallError } from '../errors.js';
import type { Target } from '../limits/limiter.js';
import type { Route } from '../policy/types.js';
import type { UpstreamAnswer } from '../upstream/send.js';

// What every transport hands the pipeline, and what it gets back. Plain data: no req, res or
// socket. An HTTP call on `listen`, one inside an egress tunnel and a frame on the bot WebSocket all
// become a Request; each transport turns the Outcome (or the FirewallError thrown instead) back into
// its own wire format.

export interface Request {
  requestId: string;
  /** Who is calling: its name under `callers:`, or without callers, its (loopback) address. */
  caller: string;
  route: Route;
  method: 'GET' | 'POST';
  /** WeCom's path (HTTP), or the frame's command (bot). */
  path: string;
  /** Whose limit it spends and whose credential sends it. */
  target: Target;
  msgtype?: string;
  /** What the policies judge. */
  payload: unknown;
  /** Exactly what is forwarded, or parked for approval. */
  bytes: Buffer;
  contentType: string;
  /** Kept with a parked record so it is sent as it would have been: an upload's rebuilt query, a reply's req_id and chat. */
  upstreamQuery: string;
  /** Individual recipients (app message/send), each counted against WeCom's per-member limits. */
  recipients?: string[];
  /** A later frame of a message whose first frame spent its tokens (a stream reply): judged again, not counted again. */
  counted?: boolean;
  /** The client waits only seconds for its answer (a bot frame: 5 s): a rule's `mode: hold` parks it instead. */
  noHold?: boolean;
  /** Why this request cannot be parked (a bot upload: its chunks follow at once): an approve decision refuses it. */
  unparkable?: string;
  /** Present: a repeat within the dedupe window gets the first answer. `identity` replaces the bytes as what a repeat is recognised by. */
  dedupe?: { idempotencyKey?: string; identity?: Buffer };
  /** Its audit line, filled in on the way; the transport writes it once the answer is out. */
  record: AuditRecord;
}

/** Sends the request's bytes to WeCom with the real credential: the transport's part of a forward. */
export type Forward = () => Promise<UpstreamAnswer>;

/** How a request ended, when it was not refused (a refusal is thrown as a FirewallError). */
export type Outcome = Settled | { kind: 'duplicate'; of: string; first: Settled | { kind: 'refused'; error: FirewallError } };

export type Settled =
  /** WeCom's answer (for a held request: the answer to its approved send). */
  | { kind: 'forwarded'; answer: UpstreamAnswer }
  /** Parked for approval; `approved`: a held request already approved and waiting for its window (it will be sent). */
  | { kind: 'parked'; approvalId: string; requestId: string; approved?: { expectedAt?: string } };

/**
 * Notes a refusal on its audit record, for every transport alike: rate limits as `rate_limited`, an
 * upstream failure stays `upstream_error`, anything else `rejected`; the reason is the refusal's
 * unless a rule already gave one.
 */
export function auditRefusal(record: AuditRecord, refusal: FirewallError): void {
  if (record.decision !== 'upstream_error') record.decision = refusal.code === 'RATE_LIMITED' || refusal.code === 'TOO_MANY_PENDING' ? 'rate_limited' : 'rejected';
  record.errcode = refusal.errcode;
  record.why ??= { reason: refusal.message };
}
