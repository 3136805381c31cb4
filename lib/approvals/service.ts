import { EventEmitter } from 'node:events';
import type { Logger } from 'winston';
import { FirewallError } from '../errors.js';
import type { AuditLog } from '../audit/audit.js';
import type { Limits } from '../limits/limiter.js';
import type { UpstreamAnswer } from '../upstream/send.js';
import type { Approval, ApprovalStore, HistoryQuery, NewApproval } from './store.js';
import type { LinkIdentity } from './links.js';
import type { ApprovalRequirement } from '../policy/types.js';
import { Deliveries } from './delivery.js';

// Parking and deciding. An approved record is sent once, with the bytes that were parked (the
// digest is checked again before sending), when its robot's window has room (delivery.ts); the
// store's guarded updates keep a record from being decided twice.

export interface ApprovalDeps {
  store: ApprovalStore;
  audit: AuditLog;
  limits: Limits;
  log: Logger;
  /** Sends an approved record's exact bytes to WeCom with the real credential (never waits out a cooldown). */
  deliver: (record: Approval) => Promise<UpstreamAnswer>;
  /** How long a target (`robot:<alias>`, `app:<name>`) still cools down after WeCom's 45009 (the upstream guard's). */
  cooldownLeftMs: (target: string) => number;
  /** approvals.deliverWithin: how long an approved message may wait to be delivered. */
  deliverWithinMs?: number;
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

/** Approving answers within this long: `sent` when the message could go at once, else `approved` with when it will. */
const ANSWER_WITHIN_MS = 1_500;
/** An approved message may wait at least this long for its robot (the default deadline is the record's remaining ttl). */
const MIN_DELIVER_WITHIN_MS = 10 * 60_000;

/** What a held request learns: the record as it stands, or that the firewall is stopping. */
export type HoldOutcome = Approval | 'stopping';

export class Approvals {
  /** Emits a record's id with the record when a decision or a delivery attempt changed it (for held requests). */
  private readonly settled = new EventEmitter();
  private readonly deliveries: Deliveries;
  /** Held requests waiting, by record id: settled with 'stopping' by close(). */
  private readonly holds = new Map<string, (outcome: HoldOutcome) => void>();
  private closed = false;

  constructor(private readonly deps: ApprovalDeps) {
    this.settled.setMaxListeners(0);
    this.deliveries = new Deliveries({
      store: deps.store,
      audit: deps.audit,
      get limits() {
        return deps.limits;
      },
      log: deps.log,
      deliver: (record) => deps.deliver(record),
      cooldownLeftMs: (target) => deps.cooldownLeftMs(target),
      changed: (record) => this.settled.emit(record.id, record),
    });
  }

  /**
   * Waits for a held record's outcome until it expires (its expiry is the hold). Nobody decided in
   * time: the record is expired, so a late approval cannot send what the agent was told was refused.
   * Approved and being sent: that send is awaited. Approved but waiting for its robot's window: the
   * record as it stands (the agent is told it will be sent). close() settles every hold with 'stopping'.
   */
  waitFor(id: string): Promise<HoldOutcome> {
    const { store } = this.deps;
    return new Promise((resolve) => {
      const record = store.get(id);
      if (!record) return resolve('stopping');
      // Parked while the firewall stops: the agent is told it was not sent, so it never will be.
      if (this.closed) return resolve(this.expireHold(id, 'system:stop', 'the firewall stopped while the request was held') ? 'stopping' : store.get(id)!);
      const finish = (outcome: HoldOutcome) => {
        clearTimeout(timer);
        this.settled.off(id, onChange);
        this.holds.delete(id);
        resolve(outcome);
      };
      // Final, or approved and waiting for its robot's window (answered 202: it will be sent). While
      // it is pending or being sent, the agent waits.
      const onChange = (a: Approval) => {
        if (a.status !== 'pending' && a.status !== 'sending') finish(a);
      };
      const timer = setTimeout(() => {
        if (this.closed) return;
        if (this.expireHold(id, 'system:hold-timeout', 'not decided while the request was held')) return finish(store.get(id)!);
        onChange(store.get(id)!);
      }, Math.max(0, Date.parse(record.expiresAt) - Date.now()));
      this.settled.on(id, onChange);
      this.holds.set(id, finish);
    });
  }

  /** Expires a held record still pending (audited); false if it was decided meanwhile. */
  private expireHold(id: string, who: string, reason: string): boolean {
    return this.withdraw(id, who, reason);
  }

  /** Takes a pending record back: expired now, never sent (audited); false if it was decided meanwhile. */
  withdraw(id: string, who: string, reason: string): boolean {
    const { store, audit } = this.deps;
    if (!store.expireNow(id)) return false;
    const now = store.get(id)!;
    audit.record({ decision: 'approval_rejected', request_id: now.requestId, who, what: { route: now.route, robot: now.robot, approval_id: id }, why: { rule: now.rule, reason } });
    return true;
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
        // A held record lives as long as its hold: the agent's request is answered then, and nothing
        // it was told was refused may be sent later.
        expiresAt: new Date(Date.now() + (requirement?.mode === 'hold' ? requirement.holdMs : (requirement?.ttlMs ?? this.deps.ttlMs))),
        held: requirement?.mode === 'hold',
      });
    } catch (err) {
      throw new FirewallError('STORE_UNAVAILABLE', 'could not store the request for approval', { cause: err });
    }
    if (this.deps.notify) this.track(this.deps.notify(record));
    return record;
  }

  /**
   * A parked stream reply grew: the record's bytes become its latest state (what an approver sees
   * and what is sent), earlier votes are cleared. false once it was decided (the new state is not
   * what was decided on).
   */
  revise(id: string, payload: Buffer, who: string): boolean {
    let revised: boolean;
    try {
      revised = this.deps.store.revise(id, payload);
    } catch (err) {
      throw new FirewallError('STORE_UNAVAILABLE', 'could not update the parked message', { cause: err });
    }
    if (revised) {
      const now = this.deps.store.get(id)!;
      this.deps.audit.record({ decision: 'revised', request_id: now.requestId, who, what: { route: now.route, robot: now.robot, msgtype: now.msgtype, size: payload.length, sha256: now.sha256, approval_id: id }, why: { reason: 'a later frame of the parked stream: approvers see its latest state' } });
    }
    return revised;
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

  /**
   * A vote. `sha256`, when given, is the digest of the bytes the approver was shown: if the record
   * holds other bytes now (a parked stream grew), the vote is refused (APPROVAL_CHANGED).
   */
  async decide(id: string, decider: Decider, verdict: 'approve' | 'reject', comment?: string, sha256?: string): Promise<Approval> {
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
    const voted = store.vote(id, { who, verdict, at: new Date().toISOString(), ...(comment ? { comment } : {}), ...(decider.link ? { via: 'link' as const } : {}) }, spend, (r) => this.deliverBy(r), sha256);
    if (voted === undefined) throw new FirewallError('APPROVAL_NOT_FOUND'); // deleted under us
    if (voted === 'changed') throw new FirewallError('APPROVAL_CHANGED', sha256 === undefined ? 'it changed while parked: approve it with the sha256 of the version you checked' : 'look at it again, then decide');
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
    if (voted.status !== 'approved') return voted;
    // The approver is answered within ANSWER_WITHIN_MS: sent (or failed) if it went at once, else
    // approved, with when the next attempt is due. Delivery goes on either way.
    const delivery = this.track(this.deliveries.attempt(id, who));
    let timer: NodeJS.Timeout | undefined;
    const soon = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ANSWER_WITHIN_MS)));
    const done = await Promise.race([delivery, soon]);
    clearTimeout(timer);
    return done ?? store.get(id)!;
  }

  /** When an approved record must be delivered by: approvals.deliverWithin from now, or its remaining ttl, at least 10 minutes. */
  private deliverBy(record: Approval): Date {
    const now = Date.now();
    if (this.deps.deliverWithinMs !== undefined) return new Date(now + this.deps.deliverWithinMs);
    return new Date(Math.max(Date.parse(record.expiresAt), now + MIN_DELIVER_WITHIN_MS));
  }

  /** Waits for every send and card in progress, so closing the store never strands a record in `sending`. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /**
   * Stops: every held request still pending is answered 'stopping' and its record expired (the agent is
   * told it was not sent, so it must never be sent later); scheduled deliveries stop (they stay
   * approved and the next start resumes them); sends under way are awaited.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, finish] of [...this.holds]) {
      // Still pending: expired, and the agent is told so. Approved and waiting: it will be sent (after
      // the next start), and the agent is told that (202). Being sent: its outcome answers it.
      if (this.expireHold(id, 'system:stop', 'the firewall stopped while the request was held')) finish('stopping');
      else {
        const now = this.deps.store.get(id)!;
        if (now.status !== 'sending') finish(now);
      }
    }
    await this.deliveries.stop();
    await this.drain();
  }

  private readonly inflight = new Set<Promise<unknown>>();

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work)).catch(() => undefined);
    return work;
  }

  /**
   * After a restart: held records are expired (their requests were cut by the stop); what was
   * interrupted mid-send is marked failed without resending it (WeCom may have it); what was approved
   * and not yet sent is delivered (now, or when its window allows).
   */
  async resume(): Promise<{ scheduled: number; interrupted: number; heldExpired: number }> {
    const { store, audit } = this.deps;
    const held = store.expireHeld();
    for (const record of held) {
      audit.record({ decision: 'approval_rejected', request_id: record.requestId, who: 'system:resume', what: { route: record.route, robot: record.robot, approval_id: record.id }, why: { rule: record.rule, reason: 'held request cut by a stop: its agent was answered nothing, so it is never sent' } });
    }
    let interrupted = 0;
    for (const record of store.withStatus('sending')) {
      store.finish(record.id, 'failed', { status: 502, body: 'the firewall stopped while sending: WeCom may or may not have it; not sent again', code: 'UPSTREAM_OUTCOME_UNKNOWN' });
      audit.record({ decision: 'send_failed', request_id: record.requestId, who: 'system:resume', what: { route: record.route, robot: record.robot, approval_id: record.id, sha256: record.sha256 }, why: { reason: 'interrupted while sending' } });
      interrupted++;
    }
    const approved = store.withStatus('approved');
    await Promise.all(approved.map((record) => this.track(this.deliveries.attempt(record.id, 'system:resume'))));
    return { scheduled: approved.length, interrupted, heldExpired: held.length };
  }
}
