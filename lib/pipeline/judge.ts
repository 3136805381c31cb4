import { createHash } from 'node:crypto';
import { ERRORS, FirewallError, POLICY_ERRCODES, type ErrorCode } from '../errors.js';
import type { HoldOutcome } from '../approvals/service.js';
import type { Decision, PolicyRequest } from '../policy/types.js';
import { errcodeOf } from '../upstream/send.js';
import type { PipelineDeps } from './pipeline.js';
import type { Request, Settled } from './request.js';

/**
 * Runs the policies over a request. A reject throws the rule's refusal; an approve parks the exact
 * bytes and returns how it ended for the agent (parked, or for a held request its outcome); an allow
 * returns 'allow' for the pipeline to forward. Either way the audit record learns the rule.
 */
export async function judge(deps: PipelineDeps, request: Request): Promise<'allow' | Settled> {
  const decision = verdict(deps, request);
  if (decision.action === 'allow') return 'allow';
  if (request.unparkable) throw new FirewallError('POLICY_REJECTED', `rule ${decision.rule} asks for approval, but ${request.unparkable}`);
  return park(deps, request, decision);
}

/**
 * The policies' decision on a request, written to its audit record (rule, pack, monitor-mode hits);
 * a reject is thrown as the rule's refusal.
 */
export function verdict(deps: PipelineDeps, request: Request): Decision {
  const { record } = request;
  record.what.msgtype = request.msgtype;
  record.what.size = request.bytes.length;
  record.what.sha256 ??= createHash('sha256').update(request.bytes).digest('hex');
  const decision = decide(deps, request);
  record.why = { rule: decision.rule, pack: decision.pack, reason: decision.reason };
  if (decision.monitored) {
    // mode: monitor rules that applied: recorded as "would have", not enforced (one audit record per request).
    record.why.monitor = decision.monitored.map(({ rule, would }) => ({ rule, would }));
    for (const m of decision.monitored) {
      deps.log.info('policy monitor: a rule in mode monitor applied; its decision was not enforced', { request_id: request.requestId, rule: m.rule, pack: m.pack, would: m.would, enforced: decision.action, enforced_rule: decision.rule, ...(m.detail ? { detail: m.detail } : {}) });
    }
  }
  if (decision.action === 'reject') {
    const code = POLICY_ERRCODES[decision.errcode ?? 9900001] ?? 'POLICY_REJECTED';
    throw new FirewallError(code, `rule ${decision.rule}: ${decision.reason}${decision.detail ? ` (${decision.detail})` : ''}`, { errcode: decision.errcode });
  }
  return decision;
}

async function park(deps: PipelineDeps, request: Request, decision: Decision): Promise<Settled> {
  const { record } = request;
  // Parking spends the caller's and the global tokens (not the target's: nothing is sent yet), so an
  // agent cannot fill the approval queue faster than it could post. A park that fails gives them back.
  const tokens = await deps.limits.take({ caller: request.caller });
  const requirement = request.noHold && decision.approval?.mode === 'hold' ? { ...decision.approval, mode: 'park' as const } : decision.approval;
  let approval;
  try {
    approval = deps.approvals.park({
      requestId: request.requestId,
      route: request.route,
      method: request.method,
      target: request.upstreamQuery ? `${request.path}?${request.upstreamQuery}` : request.path,
      robot: request.target.name,
      caller: request.caller,
      msgtype: request.msgtype,
      payload: request.bytes,
      contentType: request.contentType,
      rule: decision.rule,
      reason: decision.reason,
      requirement,
    });
  } catch (err) {
    tokens.release();
    throw err;
  }
  tokens.keep();
  record.decision = 'parked';
  record.what.approval_id = approval.id;
  if (requirement?.mode !== 'hold') return { kind: 'parked', approvalId: approval.id, requestId: request.requestId };
  // Held: the agent waits for the outcome, as if WeCom had been slow.
  return heldOutcome(request, approval.id, await deps.approvals.waitFor(approval.id));
}

/** A held request's outcome: WeCom's answer, approved-and-waiting, or the refusal that says what happened and whether WeCom may have it. */
function heldOutcome(request: Request, id: string, outcome: HoldOutcome): Settled {
  const { record } = request;
  if (outcome === 'stopping') throw new FirewallError('SHUTTING_DOWN', `approval ${id} was not decided before the firewall stopped; not sent`);
  if (outcome.status === 'rejected') throw new FirewallError('APPROVAL_REJECTED', `approval ${id}`);
  if (outcome.status === 'expired') throw new FirewallError('APPROVAL_TIMEOUT', `approval ${id} was not decided in time`);
  // Approved, waiting for its window: it will be sent; the agent must not send it again.
  if (outcome.status === 'approved' || outcome.status === 'sending') return { kind: 'parked', approvalId: id, requestId: request.requestId, approved: { expectedAt: outcome.nextAttemptAt } };
  const upstream = outcome.upstream;
  if (!upstream) throw new FirewallError('INTERNAL', `approval ${id} ended ${outcome.status} without an outcome`);
  if (upstream.code) {
    // The firewall ended the send: its code says whether WeCom may have the message (9900017) or not.
    const code = upstream.code in ERRORS ? (upstream.code as ErrorCode) : 'UPSTREAM_OUTCOME_UNKNOWN';
    throw new FirewallError(code, `approved, then: ${upstream.body} (approval ${id})`);
  }
  if (!upstream.status) throw new FirewallError('UPSTREAM_OUTCOME_UNKNOWN', `approved, but the send ended without an answer (approval ${id})`);
  const body = Buffer.from(upstream.body);
  record.upstream_status = upstream.status;
  record.upstream_errcode = errcodeOf(body);
  return { kind: 'forwarded', answer: { status: upstream.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body, errcode: record.upstream_errcode } };
}

/** Policies are compiled code over untrusted input: if one throws, refuse (fail closed). */
function decide(deps: PipelineDeps, request: Request): Decision {
  const { route, path, caller, msgtype, payload, target } = request;
  const seen: PolicyRequest = { route, path, caller, msgtype, payload };
  seen[target.kind] = target.name; // robot, app or bot: what match.robots / apps / bots look at
  try {
    return deps.policies().decide(seen);
  } catch (err) {
    throw new FirewallError('INTERNAL', 'policy evaluation failed; the request was not forwarded', { cause: err });
  }
}
