import type { AuditRecord } from '../audit/audit.js';
import { FirewallError } from '../errors.js';
import { UpstreamRefusal } from './guard.js';
import { AgentGone } from './proxy.js';
import type { Reservation } from '../limits/limiter.js';

// How a call to WeCom ends up in the audit record, for the robot and app routes alike: retries
// are noted on the forwarded record; a failure says whether WeCom may have the message.

/** Notes a retried forward ("answered on attempt 3") on the record. */
export function auditAttempts(record: AuditRecord, attempts: number | undefined): void {
  if (attempts !== undefined && attempts > 1) record.why = { ...record.why, reason: `${record.why?.reason ? `${record.why.reason}; ` : ''}WeCom answered on attempt ${attempts}` };
}

/**
 * Records a failed call on the audit record and returns the refusal to answer with. The guard's
 * refusals, a broken connection and a departed agent are `upstream_error`s; our own refusals on the
 * way (a cooldown is a rate limit, a token WeCom would not issue) are audited by the handler as such.
 */
export function auditUpstreamFailure(record: AuditRecord, err: unknown): FirewallError {
  if (err instanceof FirewallError && !(err instanceof UpstreamRefusal)) return err;
  record.decision = 'upstream_error';
  if (err instanceof UpstreamRefusal) {
    record.upstream_status = err.upstreamStatus;
    record.upstream_errcode = err.upstreamErrcode;
    record.why = { ...record.why, reason: `${err.message}; ${err.mayHaveArrived ? 'WeCom may have received it: not resent' : 'WeCom did not receive it'}` };
    return err;
  }
  if (err instanceof AgentGone) {
    record.why = { ...record.why, reason: err.mayHaveArrived ? 'the agent disconnected before WeCom answered; WeCom may have received the message' : 'the agent disconnected while the firewall waited to retry; not sent' };
  }
  return err instanceof FirewallError ? err : new FirewallError('UPSTREAM_UNAVAILABLE', undefined, { cause: err });
}

/**
 * WeCom certainly did not get it: the guard says so (no connection, an open circuit), the agent left
 * before it was sent, or the firewall refused before the request left (a 45009 cooldown, no app
 * token: plain FirewallErrors are only ever raised before sending).
 */
export function certainlyNotSent(err: unknown): boolean {
  if (err instanceof UpstreamRefusal) return !err.mayHaveArrived;
  if (err instanceof AgentGone) return !err.mayHaveArrived;
  return err instanceof FirewallError;
}

/**
 * Sends with the tokens taken for it: kept when WeCom has the message or may have it, given back
 * (exactly once, by the reservation) when it certainly did not.
 */
export async function spending<T>(tokens: Reservation, send: () => Promise<T>): Promise<T> {
  try {
    const result = await send();
    tokens.keep();
    return result;
  } catch (err) {
    if (certainlyNotSent(err)) tokens.release();
    else tokens.keep();
    throw err;
  }
}
