import type { Logger } from 'winston';
import { FirewallError } from '../errors.js';
import type { PolicySet } from '../policy/compile.js';
import type { Decision } from '../policy/types.js';
import type { Limits } from '../limits/limiter.js';
import type { Approvals } from '../approvals/service.js';
import type { AuditLog } from '../audit/audit.js';
import { auditAttempts, auditUpstreamFailure, spending } from '../upstream/outcome.js';
import { judge, verdict } from './judge.js';
import { deduplicated, type RepeatMemory } from './dedupe.js';
import type { Forward, Outcome, Request } from './request.js';

// The one request path, whatever carried the request: policies → (park | limits → forward), with
// repeats answered from memory. Nothing is forwarded unless a policy allowed it and every limit had
// room; the tokens are kept only when WeCom has (or may have) the message. Refusals are thrown as
// FirewallErrors; the audit record is filled in on the way and written by the transport.

export interface PipelineDeps {
  policies: () => PolicySet;
  limits: Limits;
  approvals: Approvals;
  audit: Pick<AuditLog, 'healthy'>;
  log: Logger;
  /** Remembers outcomes of repeated requests; undefined when dedupe.enabled is false. */
  dedupe?: RepeatMemory;
}

export interface Pipeline {
  (request: Request, forward: Forward): Promise<Outcome>;
  /**
   * Only the policies, for a later part of a message already parked (a stream's next frame): throws a
   * rule's refusal, else returns the decision (the transport compares it with the parked one).
   */
  check(request: Request): Decision;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const act = async (request: Request, forward: Forward): Promise<Outcome> => {
    const judged = await judge(deps, request);
    if (judged !== 'allow') return judged;
    const { record } = request;
    const tokens = await deps.limits.take(request.counted ? {} : { caller: request.caller, target: request.target, recipients: request.recipients });
    record.decision = 'forwarded';
    try {
      const answer = await spending(tokens, forward);
      record.upstream_status = answer.status;
      record.upstream_errcode = answer.errcode;
      auditAttempts(record, answer.attempts);
      return { kind: 'forwarded', answer };
    } catch (err) {
      throw auditUpstreamFailure(record, err);
    }
  };
  const pass = (request: Request, forward: Forward): Promise<Outcome> => {
    if (!deps.audit.healthy()) return Promise.reject(new FirewallError('AUDIT_UNAVAILABLE', 'nothing is forwarded or parked unaudited'));
    if (!deps.dedupe || !request.dedupe) return act(request, forward);
    return deduplicated(deps.dedupe, request, () => act(request, forward));
  };
  return Object.assign(pass, {
    check(request: Request): Decision {
      if (!deps.audit.healthy()) throw new FirewallError('AUDIT_UNAVAILABLE', 'nothing is forwarded or parked unaudited');
      return verdict(deps, request);
    },
  });
}
