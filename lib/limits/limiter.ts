import { createHash } from 'node:crypto';
import { FirewallError } from '../errors.js';
import type { Rate } from '../config/units.js';
import { SlidingLog, type Entry, type Window } from './sliding-log.js';
import { PER_MEMBER, MAX_MEMBER_SENDS } from './recipients.js';

// The buckets a message must pass, each an exact rolling window (sliding-log.ts): global and caller
// (when a caller is named), its robot or app, and for app sends each individual recipient (WeCom
// silently drops a member's 31st message in a minute, 1001st in an hour).
//
// A take is all or nothing and returns a Reservation: the one place that decides what happens to
// the tokens afterwards. keep() when WeCom has the message or may have it; release() when it
// certainly did not (refused locally, no connection, open circuit, a park that failed). Either
// happens once; the first call wins. Any limiter error refuses the message (fail closed).

export interface LimitsConfig {
  global?: Rate;
  perCaller?: Rate;
  /** Opt-in pacing: wait up to this long for a token instead of refusing at once. 0 = off. */
  pacingMaxWaitMs: number;
}

/** Where a message goes: a robot alias, an app name or a bot alias (they may share a name, so the kind is part of the key). */
export interface Target {
  kind: 'robot' | 'app' | 'bot';
  name: string;
}

/** What one message spends. */
export interface Ask {
  /** Spends the global bucket and this caller's (parking, live sends, the firewall's own messages). */
  caller?: string;
  target?: Target;
  /** Individual recipients of an app message (message/send `touser`). */
  recipients?: string[];
}

/** The logs of what was sent: they outlive a reload, so a new generation counts what the old one sent. */
export interface LimitLogs {
  global: SlidingLog;
  callers: SlidingLog;
  targets: SlidingLog;
  /** Per app: one agent inventing ids can fill its own app's log, never another app's. */
  members: Map<string, SlidingLog>;
  /** The bound of each app's member log. */
  maxMemberSends: number;
}

export const newLimitLogs = (maxMemberSends = MAX_MEMBER_SENDS): LimitLogs => ({ global: new SlidingLog(), callers: new SlidingLog(), targets: new SlidingLog(), members: new Map(), maxMemberSends });

/** A monotonic clock in ms: the wall clock may step back, a window must not. */
export const monotonic = () => performance.now();

// WeCom's userids are case-insensitive: counted as one member, whatever the case the agent wrote.
const memberKey = (id: string) => createHash('sha256').update(id.toLowerCase()).digest('base64url');
const keyOf = (t: Target) => `${t.kind}:${t.name}`;
const windowOf = (rate: Rate): Window[] => [{ points: rate.points, ms: rate.durationSec * 1000 }];
const MEMBER_WINDOWS: Window[] = PER_MEMBER.map((w) => ({ points: w.points, ms: w.duration * 1000 }));

interface Held {
  log: SlidingLog;
  key: string;
  entry: Entry;
}

/** Tokens taken for one message. Settled once: keep() or release(), whichever comes first. */
export class Reservation {
  private settled = false;

  constructor(
    private readonly held: Held[],
    private readonly clock: () => number,
  ) {}

  /** WeCom has the message, or may have it: the tokens stay spent, counted from now (when it answered). */
  keep(): void {
    if (this.settled) return;
    this.settled = true;
    const now = this.clock();
    for (const h of this.held) h.log.restamp(h.key, h.entry, now);
  }

  /** Nothing was sent: exactly these entries are taken back (never credit to a later window). */
  release(): void {
    if (this.settled) return;
    this.settled = true;
    for (const h of this.held) h.log.remove(h.key, h.entry);
  }
}

/** The bucket that is full, and how long until it has room. */
export interface Full {
  bucket: string;
  waitMs: number;
  reason: string;
}

interface Check {
  name: string;
  log: SlidingLog;
  key: string;
  windows: Window[];
}

export class Limits {
  private readonly targets = new Map<string, Window[]>();
  // Built once: the request path only looks them up.
  private readonly globalWindows?: Window[];
  private readonly callerWindows?: Window[];

  constructor(
    private readonly config: LimitsConfig,
    targets: Iterable<Target & { limit: Rate }>,
    readonly logs: LimitLogs = newLimitLogs(),
    private readonly clock: () => number = monotonic,
  ) {
    for (const t of targets) this.targets.set(keyOf(t), windowOf(t.limit));
    if (config.global) this.globalWindows = windowOf(config.global);
    if (config.perCaller) this.callerWindows = windowOf(config.perCaller);
  }

  /**
   * Takes one token from every bucket the ask names, or throws RATE_LIMITED (with Retry-After) /
   * LIMITER_UNAVAILABLE. With pacing (or `maxWaitMs`), waits for room up to that long first.
   */
  async take(ask: Ask, maxWaitMs = this.config.pacingMaxWaitMs): Promise<Reservation> {
    const deadline = this.clock() + maxWaitMs;
    for (;;) {
      const got = this.tryTake(ask);
      if (got instanceof Reservation) return got;
      if (this.clock() + got.waitMs > deadline) throw refusal(got);
      await new Promise((r) => setTimeout(r, Math.ceil(got.waitMs)));
    }
  }

  /** Takes the tokens now, or says which bucket is full and for how long (nothing is taken then). */
  tryTake(ask: Ask): Reservation | Full {
    try {
      const checks = this.checksFor(ask);
      const now = this.clock();
      for (const c of checks) {
        const waitMs = c.log.waitMs(c.key, now, c.windows);
        if (waitMs > 0) return { bucket: c.name, waitMs, reason: reasonFor(c, waitMs) };
      }
      const members = checks.filter((c) => c.name === 'recipient');
      const full = members.length ? members[0]!.log.capacityWaitMs(members.length, now) : 0;
      if (full > 0) return { bucket: 'recipient', waitMs: full, reason: `the firewall tracks at most ${this.logs.maxMemberSends} member sends per app per hour and this message would pass that; retry in ${Math.max(1, Math.ceil(full / 1000))}s` };
      return new Reservation(
        checks.map((c) => ({ log: c.log, key: c.key, entry: c.log.add(c.key, now, c.windows) })),
        this.clock,
      );
    } catch (err) {
      if (err instanceof FirewallError) throw err;
      throw new FirewallError('LIMITER_UNAVAILABLE', 'rate limiter failed', { cause: err });
    }
  }

  /** Whether a robot or app has a bucket (it is configured). */
  has(target: Target): boolean {
    return this.targets.has(keyOf(target));
  }

  private memberLog(app: string): SlidingLog {
    let log = this.logs.members.get(app);
    if (!log) this.logs.members.set(app, (log = new SlidingLog(this.logs.maxMemberSends)));
    return log;
  }

  private checksFor(ask: Ask): Check[] {
    const checks: Check[] = [];
    if (ask.caller !== undefined) {
      if (this.globalWindows) checks.push({ name: 'global', log: this.logs.global, key: 'all', windows: this.globalWindows });
      if (this.callerWindows) checks.push({ name: 'caller', log: this.logs.callers, key: ask.caller, windows: this.callerWindows });
    }
    if (ask.target) {
      const windows = this.targets.get(keyOf(ask.target));
      if (!windows) throw new FirewallError('LIMITER_UNAVAILABLE', `no bucket for this ${ask.target.kind}`);
      checks.push({ name: ask.target.kind, log: this.logs.targets, key: keyOf(ask.target), windows });
      // Members are per app. Ids are the agent's to invent: hashed to a fixed size, and each app's
      // log holds at most maxMemberSends entries.
      if (ask.recipients?.length) {
        const log = this.memberLog(ask.target.name);
        for (const key of new Set(ask.recipients.map(memberKey))) checks.push({ name: 'recipient', log, key, windows: MEMBER_WINDOWS });
      }
    }
    return checks;
  }
}

function reasonFor(c: Check, waitMs: number): string {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  if (c.name !== 'recipient') return `${c.name} limit reached, retry in ${seconds}s`;
  return `a recipient has had ${PER_MEMBER[0].points} messages in a minute or ${PER_MEMBER[1].points} in an hour, WeCom would drop more silently; retry in ${seconds}s`;
}

function refusal(full: Full): FirewallError {
  const retryAfter = Math.max(1, Math.ceil(full.waitMs / 1000));
  return new FirewallError('RATE_LIMITED', full.reason, { headers: { 'Retry-After': String(retryAfter) } });
}
