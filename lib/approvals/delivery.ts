import { createHash } from 'node:crypto';
import { FirewallError } from '../errors.js';
import { Reservation } from '../limits/limiter.js';
import { recipientsOf } from '../limits/recipients.js';
import type { UpstreamAnswer } from '../upstream/send.js';
import { certainlyNotSent } from '../upstream/outcome.js';
import type { Approval, UpstreamOutcome } from './store.js';
import type { ApprovalDeps } from './service.js';

// Delivering approved messages. An approved record is sent when its robot's (or app's) window has
// room, and once only: it is claimed (approved → sending) before the bytes leave, so a second sender
// or a restart keeps off it. An attempt that WeCom certainly did not take (45009, a cooldown, an
// open circuit, no connection) puts it back to approved and tries again when the wait is over, until
// its deadline; then it fails, saying why. An attempt WeCom may have received (a timeout, a broken
// connection) is never repeated: it fails with 9900017.
//
// Approved sends spend the target's tokens (and per-member ones for app messages), not the caller's
// or the global ones: those were spent when the message was parked.

export interface DeliveryDeps extends Pick<ApprovalDeps, 'store' | 'audit' | 'limits' | 'log' | 'deliver' | 'cooldownLeftMs'> {
  /** An attempt changed a record: sent, failed, or back to approved to wait. */
  changed: (record: Approval) => void;
}

/** Waits between attempts are kept within these bounds (an open circuit says 30 s; a cooldown 60 s). */
const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
/** WeCom's answers that say it did not take the message: its limit (45009), busy (-1), too many concurrent calls (45033). */
const NOT_TAKEN = new Set([45009, -1, 45033]);
/** No connection to WeCom, or busy: try again after this long. */
const UNREACHABLE_RETRY_MS = 5_000;

export class Deliveries {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<Approval>>();
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps) {}

  /** Makes an attempt now (or joins the one under way); resolves when it ended or was put off. */
  attempt(id: string, who: string): Promise<Approval> {
    const under = this.running.get(id);
    if (under) return under;
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    const run = this.once(id, who).finally(() => this.running.delete(id));
    this.running.set(id, run);
    return run;
  }

  /** Stops scheduling (records stay approved in the store and are resumed by the next start); waits for attempts under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  private async once(id: string, who: string): Promise<Approval> {
    const { store, audit, limits } = this.deps;
    const record = store.get(id);
    if (!record || record.status !== 'approved' || this.stopped) return record!;
    const what = { route: record.route, robot: record.robot, msgtype: record.msgtype, size: record.payload.length, sha256: record.sha256, approval_id: record.id };
    // The deadline ends the retries: the first attempt is always made.
    const deliverBy = Date.parse(record.deliverBy ?? record.expiresAt);
    if (record.nextAttemptAt !== undefined && Date.now() >= deliverBy) return this.giveUp(record, who, what, 'approved');

    const kind = targetKindOf(record.route);
    // A reload removed its robot or app: waiting will not bring it back.
    if (!limits.has({ kind, name: record.robot })) return this.fail(record, who, what, { status: 0, body: `${kind} ${record.robot} is no longer configured; not sent`, code: 'INTERNAL' }, 'approved');
    const recipients = record.route === 'app.message_send' ? recipientsOf(parseObject(record.payload)) : undefined;
    let tokens;
    try {
      tokens = limits.tryTake({ target: { kind, name: record.robot }, recipients });
    } catch (err) {
      // Fail closed, and try again: an approved message is not dropped because the limiter broke.
      this.deps.log.error('the rate limiter failed while delivering an approved message', { approval_id: id, cause: String(err) });
      return this.later(record, UNREACHABLE_RETRY_MS, 'waits: the rate limiter failed', false);
    }
    if (!(tokens instanceof Reservation)) return this.later(record, tokens.waitMs, `waits for the ${tokens.bucket} limit: ${tokens.reason}`, false);
    if (!store.claim(id)) {
      tokens.release();
      return store.get(id)!;
    }
    if (createHash('sha256').update(record.payload).digest('hex') !== record.sha256) {
      tokens.release();
      return this.fail(record, who, what, { status: 0, body: 'stored payload does not match its digest; not sent', code: 'INTERNAL' });
    }
    const started = Date.now();
    let answer: UpstreamAnswer;
    try {
      answer = await this.deps.deliver(record);
    } catch (err) {
      if (certainlyNotSent(err) || isUnsendable(err)) {
        tokens.release();
        if (isUnsendable(err)) return this.fail(record, who, what, outcomeOf(err));
        return this.later(record, retryDelayOf(err), `WeCom did not take it (${(err as Error).message}); tried again`, true);
      }
      tokens.keep();
      return this.fail(record, who, what, outcomeOf(err));
    }
    tokens.keep();
    const body = answer.body.toString('utf8').slice(0, 4096);
    if (answer.status === 200 && answer.errcode !== undefined && NOT_TAKEN.has(answer.errcode)) {
      // WeCom refused it for its limit (45009: the guard started the cooldown) or was busy (-1, 45033,
      // after the guard's own retries): certainly not taken, so it is tried again.
      const wait = answer.errcode === 45009 ? this.deps.cooldownLeftMs(`${kind}:${record.robot}`) : UNREACHABLE_RETRY_MS;
      return this.later(record, Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, wait)), `WeCom answered errcode ${answer.errcode} (not taken): tried again`, true);
    }
    const ok = answer.status === 200 && answer.errcode === 0;
    audit.record({ decision: ok ? 'sent' : 'send_failed', request_id: record.requestId, who, what, upstream_status: answer.status, upstream_errcode: answer.errcode, latency_ms: Date.now() - started });
    const done = store.finish(id, ok ? 'sent' : 'failed', { status: answer.status, body });
    this.deps.changed(done);
    return done;
  }

  /** Not now: back to (or still) approved, with when the next attempt is due; past the deadline it fails then. */
  private later(record: Approval, waitMs: number, note: string, claimed: boolean): Approval {
    const { store } = this.deps;
    const deliverBy = Date.parse(record.deliverBy ?? record.expiresAt);
    const at = new Date(Math.min(Date.now() + waitMs, deliverBy));
    if (claimed) store.unclaim(record.id, at, note);
    else store.postpone(record.id, at, note);
    if (!this.stopped) {
      const timer = setTimeout(() => void this.attempt(record.id, 'system:delivery').catch((err: unknown) => this.deps.log.error('delivering an approved message failed', { approval_id: record.id, cause: String(err) })), Math.max(0, at.getTime() - Date.now()));
      timer.unref();
      this.timers.set(record.id, timer);
    }
    const now = store.get(record.id)!;
    this.deps.changed(now); // a held request waiting on it is answered now: approved, it will be sent
    return now;
  }

  private giveUp(record: Approval, who: string, what: object, from: 'approved'): Approval {
    const reason = `not delivered before its deadline (${record.deliverBy ?? record.expiresAt})${record.note ? `: it ${record.note}` : ''}`;
    this.deps.log.error('an approved message could not be delivered before its deadline', { approval_id: record.id, robot: record.robot, note: record.note });
    return this.fail(record, who, what, { status: 0, body: reason, code: 'UPSTREAM_UNAVAILABLE' }, from);
  }

  private fail(record: Approval, who: string, what: object, outcome: UpstreamOutcome, from: 'sending' | 'approved' = 'sending'): Approval {
    this.deps.audit.record({ decision: 'send_failed', request_id: record.requestId, who, what, upstream_status: outcome.status, why: { reason: outcome.body } });
    const done = this.deps.store.finish(record.id, 'failed', outcome, from);
    this.deps.changed(done);
    return done;
  }
}

/** Whose limit an approved record spends: its app, bot or robot. */
export const targetKindOf = (route: string): 'app' | 'bot' | 'robot' => (route.startsWith('app.') ? 'app' : route.startsWith('bot.') ? 'bot' : 'robot');

/** A refusal that waiting will not change: the robot or app is no longer configured. */
const isUnsendable = (err: unknown) => err instanceof FirewallError && err.code === 'INTERNAL';

/** What a failed attempt is stored as: the error table's code says whether WeCom may have it. */
function outcomeOf(err: unknown): UpstreamOutcome {
  if (err instanceof FirewallError) return { status: err.status, body: err.message, code: err.code };
  return { status: 502, body: 'the connection to WeCom failed after the request was sent; it may have received the message', code: 'UPSTREAM_OUTCOME_UNKNOWN' };
}

/** How long to wait after WeCom certainly did not take it: what it (or the circuit) said, else a short pause. */
function retryDelayOf(err: unknown): number {
  const header = err instanceof FirewallError ? Number(err.headers['Retry-After']) : NaN;
  const ms = Number.isFinite(header) && header > 0 ? header * 1000 : UNREACHABLE_RETRY_MS;
  return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms));
}

function parseObject(payload: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
