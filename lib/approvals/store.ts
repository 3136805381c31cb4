import type { Route } from '../policy/types.js';

// The approval record and the store interface. The embedded SQLite store implements it; a shared
// store (Redis, PostgreSQL) can implement the same contract later.

// pending → approved → sending → sent | failed; pending → rejected | expired. `sending` is written
// before the bytes leave, so after a crash a record found in it may have reached WeCom and is never
// sent again; one found in `approved` had not started and is sent on restart. An attempt that WeCom
// certainly did not take (its limit, 45009, an open circuit) goes back sending → approved and is
// tried again at `nextAttemptAt`, until `deliverBy`; approved → failed when that passes.
export type ApprovalStatus = 'pending' | 'approved' | 'sending' | 'rejected' | 'expired' | 'sent' | 'failed';

export interface Verdict {
  who: string;
  verdict: 'approve' | 'reject';
  at: string;
  comment?: string;
  /** 'link' when cast through a notification link rather than a signed-in session. */
  via?: 'link';
}

export interface NewApproval {
  requestId: string;
  route: Route;
  method: 'GET' | 'POST';
  /** Upstream path and query without credentials, e.g. /cgi-bin/webhook/send or ...upload_media?type=file. */
  target: string;
  /** The robot alias, or for app routes (`app.*`) the app name. */
  robot: string;
  caller: string;
  msgtype?: string;
  /** The exact bytes that will be forwarded if approved, and their content type. */
  payload: Buffer;
  contentType: string;
  rule: string;
  reason: string;
  /** Who may decide (subs, groups already expanded), and how many approvals it takes. */
  approvers: string[];
  required: number;
  expiresAt: Date;
  /** A held request (approval mode hold): its expiry is the hold, and a restart expires it. */
  held?: boolean;
}

/** How a send ended: WeCom's answer, or (status 0 or `code`) the firewall's refusal, e.g. UPSTREAM_TIMEOUT. */
export interface UpstreamOutcome {
  status: number;
  body: string;
  /** The error table's code when the firewall ended it (says whether WeCom may have it). */
  code?: string;
}

export interface Approval extends Omit<NewApproval, 'expiresAt' | 'held'> {
  id: string;
  sha256: string;
  createdAt: string;
  expiresAt: string;
  held: boolean;
  status: ApprovalStatus;
  decisions: Verdict[];
  upstream?: UpstreamOutcome & { at: string };
  /** Approved: delivered by then or failed. */
  deliverBy?: string;
  /** Approved and waiting (a limit, a cooldown, an open circuit): when the next attempt is due, and why it waits. */
  nextAttemptAt?: string;
  note?: string;
  /** When a parked stream last grew (its bytes replaced): approving it then needs the sha256 of what was shown. */
  revisedAt?: string;
  /** When the payload bytes were erased (approvals.keepDecided); the digest stays. */
  purgedAt?: string;
}

/** History filters: exact matches; since/until bound created_at; newest first. */
export interface HistoryQuery {
  status?: ApprovalStatus;
  robot?: string;
  rule?: string;
  caller?: string;
  since?: string;
  until?: string;
  limit: number;
  /** A cursor from a previous page: only records older than it. */
  before?: { createdAt: string; id: string };
}

/** A single-use token (a notification link) spent by a vote: recorded with the vote, atomically. */
export interface SpentToken {
  jti: string;
  expiresAt: Date;
}

export interface ApprovalStore {
  /** Durably stores a parked request before its 202 is sent. */
  park(input: NewApproval): Approval;
  get(id: string): Approval | undefined;
  pending(): Approval[];
  pendingCount(): number;
  /** Records in a status, oldest first (for resuming after a restart). */
  withStatus(status: ApprovalStatus): Approval[];
  /**
   * Adds a vote atomically: a reject rejects, the `required`-th approve approves, anything else leaves
   * it pending. 'closed' if the record is no longer pending (or has expired); 'duplicate' if this
   * `who` already voted (a vote counts once); 'token_spent' if `spend` was used before (nothing changes);
   * 'changed' (nothing changes) for an approve whose `sha256` is not the record's, or, without one, of a
   * record that was revised while parked.
   */
  vote(id: string, verdict: Verdict, spend?: SpentToken, deliverBy?: (record: Approval) => Date, sha256?: string): Approval | 'closed' | 'duplicate' | 'token_spent' | 'changed' | undefined;
  history(query: HistoryQuery): Approval[];
  /** Erases the payload bytes of records in a final status created before `before`; returns how many. */
  purge(before: Date): number;
  /** Claims an approved record for sending (approved → sending); false if it was not approved. */
  claim(id: string): boolean;
  /** WeCom certainly did not take it: sending → approved, next attempt at `at`; false if it was not sending. */
  unclaim(id: string, at: Date, note: string): boolean;
  /** An approved record waits: when its next attempt is due and why. */
  postpone(id: string, at: Date, note: string): void;
  /** Records the outcome of a send: sent or failed (from sending), or failed from approved (never sent: its deadline passed). */
  finish(id: string, status: 'sent' | 'failed', upstream: UpstreamOutcome, from?: 'sending' | 'approved'): Approval;
  /** Expires every pending held record (their requests were cut by a stop); returns them. */
  expireHeld(): Approval[];
  /**
   * Replaces a pending record's bytes (a parked stream reply that grew: approvers see its latest
   * state) and clears the votes cast on the earlier bytes; false if it was no longer pending.
   */
  revise(id: string, payload: Buffer): boolean;
  /** Expires one pending record now (a held request gave up waiting); false if it was no longer pending. */
  expireNow(id: string): boolean;
  /** Marks pending records past their expiry as expired; returns how many. */
  expire(now?: Date): number;
  healthy(): boolean;
  /** Takes a small durable write (a readiness probe): false if the store cannot write. */
  writable(): boolean;
  close(): void;
}
