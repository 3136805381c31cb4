import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { FirewallError } from '../errors.js';
import type { AuditLog } from '../audit/audit.js';
import type { Limits } from '../limits/limiter.js';
import type { UpstreamAnswer } from '../upstream/send.js';
import type { Approval, ApprovalStore, HistoryQuery, NewApproval } from './store.js';
import type { LinkIdentity } from './links.js';
import type { ApprovalRequirement } from '../policy/types.js';

// Parking and deciding. An approved record is sent once, with the bytes that were parked: the
// digest is checked again before sending, and the store's guarded updates keep a record from
// being decided twice.

export interface ApprovalDeps {
  store: ApprovalStore;
  audit: AuditLog;
  limits: Limits;
  /** Sends an approved record's exact bytes to WeCom with the real credential of its robot or app. */
  deliver: (record: Approval) => Promise<UpstreamAnswer>;
  ttlMs: number;
  /** The default approvers (approvals.approvers), for rules that name none. */
  approvers: string[];
  /** Everyone who may use the admin API: the defaults, every group member, every approver a rule names. */
  everyone: Set<string>;
  /** Park no more than this many at once: a queue nobody can review is no control. */
  maxPending: number;
  /** Tells the approvers (a WeCom card); called after the record is stored, never awaited by the agent. */
  notify?: (record: Approval) => Promise<void>;
  /** Decided records keep their payload bytes this long after creation. */
  keepDecidedMs: number;
}

/** Who decides: a signed-in approver, or one holding a notification link (single use). */
export interface Decider {
  sub: string;
  link?: LinkIdentity;
}

/** How long an approved message may wait for its robot's bucket before the send gives up (marked failed). */
const SEND_MAX_WAIT_MS = 60_000;

const FINAL = new Set(['sent', 'failed', 'rejected', 'expired']);

export class Approvals {
  /** Emits a record's id with the record when it reaches a final status (for held requests). */
  private readonly settled = new EventEmitter();

  constructor(private readonly deps: ApprovalDeps) {
    this.settled.setMaxListeners(0);
  }

  /**
   * Waits up to `ms` for a record's outcome. If nobody decided in time, the record is expired (so a
   * late approval cannot send what the agent was told was refused); if it was approved meanwhile,
   * the send already under way is awaited.
   */
  waitFor(id: string, ms: number): Promise<Approval> {
    const { store, audit } = this.deps;
    return new Promise((resolve) => {
      const done = (a: Approval) => {
        clearTimeout(timer);
        this.settled.off(id, done);
        resolve(a);
      };
      const timer = setTimeout(() => {
        this.settled.off(id, done);
        const expired = store.expireNow(id);
        const now = store.get(id)!;
        if (expired) audit.record({ decision: 'approval_rejected', request_id: now.requestId, who: 'system:hold-timeout', what: { route: now.route, robot: now.robot, approval_id: id }, why: { rule: now.rule, reason: 'not decided while the request was held' } });
        if (FINAL.has(now.status)) resolve(now);
        else this.settled.once(id, resolve);
      }, ms);
      this.settled.on(id, done);
    });
  }

  park(request: Omit<NewApproval, 'expiresAt' | 'approvers' | 'required'> & { requirement?: ApprovalRequirement }): Approval {
    const { requirement, ...input } = request;
    let full: boolean;
    try {
      full = this.deps.store.pendingCount() >= this.deps.maxPending;
    } catch (err) {
      throw new FirewallError('STORE_UNAVAILABLE', 'could not read the approval queue', { cause: err });
    }
    if (full) throw new FirewallError('TOO_MANY_PENDING', `${this.deps.maxPending} messages already wait for approval`, { headers: { 'Retry-After': '60' } });
    let record: Approval;
    try {
      record = this.deps.store.park({
        ...input,
        approvers: requirement?.approvers ?? this.deps.approvers,
        required: requirement?.required ?? 1,
        expiresAt: new Date(Date.now() + (requirement?.ttlMs ?? this.deps.ttlMs)),
      });
    } catch (err) {
      throw new FirewallError('STORE_UNAVAILABLE', 'could not store the request for approval', { cause: err });
    }
    if (this.deps.notify) this.track(this.deps.notify(record).then(() => record));
    return record;
  }

  history(query: HistoryQuery): Approval[] {
    return this.deps.store.history(query);
  }

  /** Erases payloads of records decided long enough ago (approvals.keepDecided); audited when any. */
  purge(now = new Date()): number {
    const purged = this.deps.store.purge(new Date(now.getTime() - this.deps.keepDecidedMs));
    if (purged) this.deps.audit.record({ decision: 'payloads_purged', request_id: '-', who: 'system:retention', what: {}, why: { reason: `payloads of ${purged} decided records erased after approvals.keepDecided` } });
    return purged;
  }

  /** May this identity vote on this record now (pending, listed, not its caller, not voted yet)? */
  mayDecide(record: Approval, sub: string): boolean {
    const approvers = record.approvers.length ? record.approvers : this.deps.approvers;
    return record.status === 'pending' && approvers.includes(sub) && sub !== record.caller && !record.decisions.some((d) => d.who === sub);
  }

  pending(): Approval[] {
    return this.deps.store.pending();
  }

  get(id: string): Approval | undefined {
    return this.deps.store.get(id);
  }

  /** May use the admin API at all: listed as an approver anywhere. Deciding a record needs more. */
  mayUseAdmin(sub: string): boolean {
    return this.deps.everyone.has(sub);
  }

  async decide(id: string, decider: Decider, verdict: 'approve' | 'reject', comment?: string): Promise<Approval> {
    const { store, audit } = this.deps;
    const who = decider.sub;
    if (decider.link && decider.link.approvalId !== id) throw new FirewallError('FORBIDDEN', 'this link is for another approval');
    const before = store.get(id);
    if (!before) throw new FirewallError('APPROVAL_NOT_FOUND');
    const approvers = before.approvers.length ? before.approvers : this.deps.approvers; // records from older stores
    if (!approvers.includes(who)) throw new FirewallError('FORBIDDEN', 'not an approver of this request');
    // Identities are names: the caller that asked (once callers are named) cannot approve itself.
    if (who === before.caller) throw new FirewallError('FORBIDDEN', 'the caller that made a request cannot decide it');
    const spend = decider.link && { jti: decider.link.jti, expiresAt: decider.link.expiresAt };
    const voted = store.vote(id, { who, verdict, at: new Date().toISOString(), ...(comment ? { comment } : {}), ...(decider.link ? { via: 'link' as const } : {}) }, spend);
    if (voted === undefined) throw new FirewallError('APPROVAL_NOT_FOUND'); // deleted under us
    if (voted === 'token_spent') throw new FirewallError('UNAUTHENTICATED', 'this link was already used to decide; open the console and sign in');
    if (voted === 'duplicate') throw new FirewallError('APPROVAL_DECIDED', 'you already voted on this request; a vote counts once');
    if (voted === 'closed') {
      store.expire();
      throw new FirewallError('APPROVAL_DECIDED', `status is ${store.get(id)?.status ?? 'unknown'}`);
    }
    const what = { route: voted.route, robot: voted.robot, msgtype: voted.msgtype, size: voted.payload.length, sha256: voted.sha256, approval_id: id };
    const decision = verdict === 'reject' ? 'approval_rejected' : voted.status === 'approved' ? 'approved' : 'approval_vote';
    audit.record({ decision, request_id: voted.requestId, who, what, why: { rule: voted.rule, reason: voted.reason } });
    if (voted.status === 'rejected') this.settled.emit(id, voted);
    return voted.status === 'approved' ? this.track(this.send(voted, who)) : voted;
  }

  /** Waits for every send in progress, so closing the store never strands a record in `sending`. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  private readonly inflight = new Set<Promise<Approval>>();

  private track(send: Promise<Approval>): Promise<Approval> {
    this.inflight.add(send);
    void send.finally(() => this.inflight.delete(send)).catch(() => undefined);
    return send;
  }

  /**
   * After a restart: sends what was approved but not yet started, and marks what was interrupted
   * mid-send as failed without resending it (WeCom may have it; a message is never sent twice).
   */
  async resume(): Promise<{ sent: number; interrupted: number }> {
    const { store, audit } = this.deps;
    let interrupted = 0;
    for (const record of store.withStatus('sending')) {
      store.finish(record.id, 'failed', { status: 0, body: 'the firewall stopped while sending: WeCom may or may not have it; not sent again' });
      audit.record({ decision: 'send_failed', request_id: record.requestId, who: 'system:resume', what: { route: record.route, robot: record.robot, approval_id: record.id, sha256: record.sha256 }, why: { reason: 'interrupted while sending' } });
      interrupted++;
    }
    let sent = 0;
    for (const record of store.withStatus('approved')) {
      if ((await this.track(this.send(record, 'system:resume'))).status === 'sent') sent++;
    }
    return { sent, interrupted };
  }

  private async send(record: Approval, who: string): Promise<Approval> {
    const result = await this.sendOnce(record, who);
    if (FINAL.has(result.status)) this.settled.emit(record.id, result);
    return result;
  }

  private async sendOnce(record: Approval, who: string): Promise<Approval> {
    const { store, audit, limits } = this.deps;
    const what = { route: record.route, robot: record.robot, msgtype: record.msgtype, size: record.payload.length, sha256: record.sha256, approval_id: record.id };
    const fail = (status: number, body: string) => {
      audit.record({ decision: 'send_failed', request_id: record.requestId, who, what, upstream_status: status });
      return store.finish(record.id, 'failed', { status, body });
    };
    // Claimed before anything leaves: a second sender, or a restart, finds it `sending` and keeps off.
    if (!store.claim(record.id)) return store.get(record.id)!;
    if (createHash('sha256').update(record.payload).digest('hex') !== record.sha256) return fail(0, 'stored payload does not match its digest; not sent');
    const started = Date.now();
    try {
      await limits.take({ kind: record.route.startsWith('app.') ? 'app' : 'robot', name: record.robot }, record.caller, SEND_MAX_WAIT_MS);
      const answer = await this.deps.deliver(record);
      const ok = answer.status === 200 && answer.errcode === 0;
      audit.record({ decision: ok ? 'sent' : 'send_failed', request_id: record.requestId, who, what, upstream_status: answer.status, upstream_errcode: answer.errcode, latency_ms: Date.now() - started });
      return store.finish(record.id, ok ? 'sent' : 'failed', { status: answer.status, body: answer.body.toString('utf8').slice(0, 4096) });
    } catch (err) {
      return fail(0, err instanceof FirewallError ? err.message : 'upstream unreachable');
    }
  }
}
