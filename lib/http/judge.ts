import { createHash } from 'node:crypto';
import { ERRORS, FirewallError, POLICY_ERRCODES, type ErrorCode } from '../errors.js';
import type { HoldOutcome } from '../approvals/service.js';
import type { Decision, PolicyRequest } from '../policy/types.js';
import type { Target } from '../limits/limiter.js';
import type { RequestContext } from './context.js';
import { sendJson } from './respond.js';
import { errcodeOf } from '../upstream/send.js';

/**
 * Runs the policies over a parsed request. A reject throws the rule's refusal; an approve parks the
 * exact bytes and answers 202 (returning 'parked'); an allow returns 'allow' for the caller to
 * forward. Either way the audit record learns the rule.
 */
export async function judge(ctx: RequestContext, request: PolicyRequest, target: Target, body: { bytes: Buffer; contentType: string; upstreamQuery: string }): Promise<'allow' | 'parked'> {
  const { record, deps } = ctx;
  record.what.msgtype = request.msgtype;
  record.what.size = body.bytes.length;
  record.what.sha256 ??= createHash('sha256').update(body.bytes).digest('hex');
  const decision = decide(deps, request);
  record.why = { rule: decision.rule, pack: decision.pack, reason: decision.reason };
  if (decision.monitored) {
    // mode: monitor rules that applied: recorded as "would have", not enforced (one audit record per request).
    record.why.monitor = decision.monitored.map(({ rule, would }) => ({ rule, would }));
    for (const m of decision.monitored) {
      deps.log.info('policy monitor: a rule in mode monitor applied; its decision was not enforced', { request_id: ctx.requestId, rule: m.rule, pack: m.pack, would: m.would, enforced: decision.action, enforced_rule: decision.rule, ...(m.detail ? { detail: m.detail } : {}) });
    }
  }
  if (decision.action === 'reject') {
    const code = POLICY_ERRCODES[decision.errcode ?? 9900001] ?? 'POLICY_REJECTED';
    throw new FirewallError(code, `rule ${decision.rule}: ${decision.reason}${decision.detail ? ` (${decision.detail})` : ''}`, { errcode: decision.errcode });
  }
  if (decision.action === 'allow') return 'allow';
  // Parking spends the caller's and the global tokens (not the target's: nothing is sent yet), so an
  // agent cannot fill the approval queue faster than it could post. A park that fails gives them back.
  const tokens = await deps.limits.take({ caller: ctx.caller });
  const hold = decision.approval?.mode === 'hold';
  let approval;
  try {
    approval = deps.approvals.park({
      requestId: ctx.requestId,
      route: request.route,
      method: ctx.routed.method,
      target: body.upstreamQuery ? `${request.path}?${body.upstreamQuery}` : request.path,
      robot: target.name,
      caller: ctx.caller,
      msgtype: request.msgtype,
      payload: body.bytes,
      contentType: body.contentType,
      rule: decision.rule,
      reason: decision.reason,
      requirement: decision.approval,
    });
  } catch (err) {
    tokens.release();
    throw err;
  }
  tokens.keep();
  record.decision = 'parked';
  record.what.approval_id = approval.id;
  if (!hold) {
    sendJson(ctx.res, 202, { errcode: 0, errmsg: 'pending approval', approval_id: approval.id, request_id: ctx.requestId });
    return 'parked';
  }
  // Held: the agent's request stays open and gets the outcome, as if WeCom had been slow.
  answerHeld(ctx, approval.id, await deps.approvals.waitFor(approval.id));
  return 'parked';
}

/** A held request's answer: WeCom's, or the refusal that says what happened and whether WeCom may have it. */
function answerHeld(ctx: RequestContext, id: string, outcome: HoldOutcome): void {
  const { record } = ctx;
  if (outcome === 'stopping') throw new FirewallError('SHUTTING_DOWN', `approval ${id} was not decided before the firewall stopped; not sent`);
  if (outcome.status === 'rejected') throw new FirewallError('APPROVAL_REJECTED', `approval ${id}`);
  if (outcome.status === 'expired') throw new FirewallError('APPROVAL_TIMEOUT', `approval ${id} was not decided in time`);
  if (outcome.status === 'approved' || outcome.status === 'sending') {
    // Approved, waiting for the robot's window: it will be sent; the agent must not send it again.
    sendJson(ctx.res, 202, { errcode: 0, errmsg: 'approved; waiting for the robot\'s limit, it will be sent', approval_id: id, request_id: ctx.requestId, expected_at: outcome.nextAttemptAt });
    return;
  }
  const upstream = outcome.upstream;
  if (!upstream) throw new FirewallError('INTERNAL', `approval ${id} ended ${outcome.status} without an outcome`);
  if (upstream.code) {
    // The firewall ended the send: its code says whether WeCom may have the message (9900017) or not.
    const code = upstream.code in ERRORS ? (upstream.code as ErrorCode) : 'UPSTREAM_OUTCOME_UNKNOWN';
    throw new FirewallError(code, `approved, then: ${upstream.body} (approval ${id})`);
  }
  if (!upstream.status) throw new FirewallError('UPSTREAM_OUTCOME_UNKNOWN', `approved, but the send ended without an answer (approval ${id})`);
  record.upstream_status = upstream.status;
  record.upstream_errcode = errcodeOf(upstream.body);
  ctx.res.writeHead(upstream.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(upstream.body) });
  ctx.res.end(upstream.body);
}

/** Policies are compiled code over untrusted input: if one throws, refuse (fail closed). */
function decide(deps: RequestContext['deps'], req: PolicyRequest): Decision {
  try {
    return deps.policies().decide(req);
  } catch (err) {
    throw new FirewallError('INTERNAL', 'policy evaluation failed; the request was not forwarded', { cause: err });
  }
}
