import { createHash } from 'node:crypto';
import { ERRORS, FirewallError } from '../errors.js';
import { Dedupe, type RememberedAnswer } from '../dedupe/dedupe.js';
import type { RequestContext } from './context.js';

// Repeats at the edge: the request's answer is captured as it is written (whichever path wrote it:
// the relayed WeCom answer, a 202 for a parked message, a held request's outcome) and remembered if
// it means WeCom has the message or it is parked. A repeat gets that answer back, marked with the
// first request's id, and is audited as a duplicate; nothing is judged, counted or sent for it.

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `bytes` are what is forwarded; `identity`, when given, is what a repeat is recognised by instead
 * (an upload: its file and name, not the rebuilt multipart body with its random boundary).
 */
export async function deduplicated(ctx: RequestContext, bytes: Buffer, target: string, handle: () => Promise<void>, identity?: Buffer): Promise<void> {
  const { req, res, record, deps } = ctx;
  const dedupe = deps.dedupe;
  if (!dedupe || req.method !== 'POST') return handle();
  const header = req.headers['idempotency-key'];
  if (header !== undefined && (typeof header !== 'string' || !KEY_PATTERN.test(header))) {
    throw new FirewallError('INVALID_PAYLOAD', 'Idempotency-Key must be 1 to 255 visible ASCII characters, given once');
  }
  const sha256 = createHash('sha256').update(identity ?? bytes).digest('hex');
  if (!identity) record.what.sha256 = sha256; // judge() reuses it
  const key = Dedupe.key({ idempotencyKey: header, caller: ctx.caller, route: ctx.routed.route, path: ctx.routed.path, target, sha256 });
  let failed: unknown;
  const outcome = await dedupe.run(key, sha256, async () => {
    const written = capture(res);
    try {
      await handle();
    } catch (err) {
      // With an Idempotency-Key the agent says "this is one message": if WeCom may have it already
      // (a timeout or a broken connection after sending), a retry must not send it again. It gets
      // the same 9900017 answer, so it can check the group instead of posting twice.
      failed = err;
      return header !== undefined ? ambiguous(ctx, err, sha256) : undefined;
    }
    return rememberable(ctx, written(), sha256);
  });
  if (failed !== undefined) throw failed;
  if (outcome.kind === 'first') return;
  if (outcome.kind === 'conflict') throw new FirewallError('IDEMPOTENCY_KEY_REUSED', `first used by request ${outcome.answer.requestId}`);
  const { answer } = outcome;
  record.decision = 'duplicate';
  record.what = { ...record.what, robot: target, size: bytes.length, sha256: identity ? createHash('sha256').update(bytes).digest('hex') : sha256 };
  record.why = { reason: `repeat of request ${answer.requestId}; answered with its answer, not sent again` };
  res.setHeader('x-firewall-duplicate-of', answer.requestId);
  res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': answer.body.length });
  res.end(answer.body);
}

/** Records the body passed to res.end (the firewall's paths write small answers in one end()). */
function capture(res: RequestContext['res']): () => Buffer | undefined {
  let body: Buffer | undefined;
  const end = res.end.bind(res) as (...args: unknown[]) => unknown;
  res.end = ((...args: unknown[]) => {
    const chunk = args[0];
    if (Buffer.isBuffer(chunk)) body = chunk;
    else if (typeof chunk === 'string') body = Buffer.from(chunk);
    return end(...args);
  }) as typeof res.end;
  return () => body;
}

function ambiguous(ctx: RequestContext, err: unknown, sha256: string): RememberedAnswer | undefined {
  if (!(err instanceof FirewallError) || err.errcode !== ERRORS.UPSTREAM_TIMEOUT.errcode) return undefined;
  const body = Buffer.from(JSON.stringify({ errcode: err.errcode, errmsg: err.message, request_id: ctx.requestId }));
  return { status: err.status, contentType: 'application/json; charset=utf-8', body, requestId: ctx.requestId, sha256 };
}

/** Parked, or WeCom took it (HTTP 200, errcode 0): a repeat must not do it again. Anything else may be retried. */
function rememberable(ctx: RequestContext, body: Buffer | undefined, sha256: string): RememberedAnswer | undefined {
  const { res, record } = ctx;
  if (!body || !res.headersSent) return undefined;
  const parked = record.decision === 'parked' && (res.statusCode === 202 || (res.statusCode === 200 && record.upstream_errcode === 0));
  const sent = record.decision === 'forwarded' && res.statusCode === 200 && record.upstream_errcode === 0;
  if (!parked && !sent) return undefined;
  return { status: res.statusCode, contentType: String(res.getHeader('content-type') ?? 'application/json; charset=utf-8'), body, requestId: ctx.requestId, sha256 };
}
