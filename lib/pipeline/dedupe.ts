import { createHash } from 'node:crypto';
import { ERRORS, FirewallError } from '../errors.js';
import { Dedupe, type RememberedAnswer } from '../dedupe/dedupe.js';
import type { Outcome, Request, Settled } from './request.js';

// Repeats. An agent that timed out, or a plugin that retries on its own, sends the same message
// again: the repeat gets the first request's outcome (the transport answers it as it answered the
// first, marked as a repeat of it) and is audited as a duplicate; nothing is judged, counted or sent
// for it. Only outcomes that mean "WeCom has it" or "it is parked" are remembered, and with an
// Idempotency-Key also "WeCom may have it" (9900017); a refusal or a failure is judged afresh.

export type Remembered = Settled | { kind: 'refused'; error: FirewallError };
export type RepeatMemory = Dedupe<Remembered>;

export async function deduplicated(dedupe: RepeatMemory, request: Request, handle: () => Promise<Outcome>): Promise<Outcome> {
  const { record } = request;
  const { idempotencyKey, identity } = request.dedupe ?? {};
  const sha256 = createHash('sha256').update(identity ?? request.bytes).digest('hex');
  if (!identity) record.what.sha256 = sha256; // judge() reuses it
  const key = Dedupe.key({ idempotencyKey, caller: request.caller, route: request.route, path: request.path, target: `${request.target.kind}:${request.target.name}`, sha256 });
  let outcome: Outcome | undefined;
  let failed: unknown;
  const seen = await dedupe.run(key, sha256, async () => {
    try {
      outcome = await handle();
    } catch (err) {
      // With an Idempotency-Key the agent says "this is one message": if WeCom may have it already
      // (a timeout or a broken connection after sending), a retry must not send it again. It gets
      // the same 9900017 answer, so it can check the chat instead of posting twice.
      failed = err;
      return idempotencyKey !== undefined ? ambiguous(request, err, sha256) : undefined;
    }
    return rememberable(request, outcome, sha256);
  });
  if (failed !== undefined) throw failed;
  if (seen.kind === 'first') return outcome!;
  if (seen.kind === 'conflict') throw new FirewallError('IDEMPOTENCY_KEY_REUSED', `first used by request ${seen.answer.requestId}`);
  const { answer } = seen;
  record.decision = 'duplicate';
  record.what = { ...record.what, size: request.bytes.length, sha256: identity ? createHash('sha256').update(request.bytes).digest('hex') : sha256 };
  record.why = { reason: `repeat of request ${answer.requestId}; answered with its answer, not sent again` };
  return { kind: 'duplicate', of: answer.requestId, first: answer.outcome };
}

function ambiguous(request: Request, err: unknown, sha256: string): RememberedAnswer<Remembered> | undefined {
  if (!(err instanceof FirewallError) || err.errcode !== ERRORS.UPSTREAM_TIMEOUT.errcode) return undefined;
  return { outcome: { kind: 'refused', error: err }, size: 0, requestId: request.requestId, sha256 };
}

/** Parked, or WeCom took it (HTTP 200, errcode 0): a repeat must not do it again. Anything else may be retried. */
function rememberable(request: Request, outcome: Outcome, sha256: string): RememberedAnswer<Remembered> | undefined {
  if (outcome.kind === 'parked') return { outcome, size: 0, requestId: request.requestId, sha256 };
  if (outcome.kind !== 'forwarded') return undefined;
  const { answer } = outcome;
  if (answer.relayed || answer.status !== 200 || answer.errcode !== 0) return undefined;
  return { outcome, size: answer.body.length, requestId: request.requestId, sha256 };
}
