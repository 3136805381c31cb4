// An exact rolling window: "N per D" means at most N entries in ANY span of D, which is how WeCom
// counts its robots (20 in any 60 s). rate-limiter-flexible's memory limiters are fixed windows that
// open with their first message, so they let up to 2N through across a window edge; at these rates
// (tens to a few thousand per window) a log of the entries themselves is small and exact.
//
// An entry is an object, so a reservation can take back exactly its own entry: a late refund removes
// nothing from a later window (if its entry has aged out already, removing it changes nothing).
// An entry is stamped when it is taken and stamped again when WeCom answered (keep()), since WeCom
// counts a message when it arrives, which is somewhere between the two.
//
// Memory: a key holds at most its largest window's N entries (older ones are dropped as it is read);
// a key whose newest entry has aged out is dropped by a sweep that runs at most every SWEEP_MS.
// `maxEntries` bounds the whole log (the per-member log, whose keys agents choose): past it nothing
// new is admitted until entries age out. No timers.

export interface Window {
  points: number;
  ms: number;
}

export interface Entry {
  t: number;
}

/**
 * One key's entries, oldest first, from `start` on (entries before it have aged out: dropping them
 * from the front one call at a time would move the whole array each time), and how long they matter
 * (its longest window, as last checked).
 */
interface KeyLog {
  entries: Entry[];
  start: number;
  horizon: number;
}

const SWEEP_MS = 10_000;

export class SlidingLog {
  private readonly logs = new Map<string, KeyLog>();
  private lastSweep = -Infinity;
  private total = 0;

  /**
   * The windows are given with each check rather than held: a reload builds new limits over the
   * same log (what was sent stays counted), and a reload that is refused changes nothing. Each key
   * keeps the horizon of its own windows: keys of different limits may share one log.
   */
  constructor(readonly maxEntries = Infinity) {}

  /** How long until `key` has room in every window (0: now). */
  waitMs(key: string, now: number, windows: readonly Window[]): number {
    this.sweep(now);
    const log = this.trimmed(key, now, longest(windows));
    let wait = 0;
    if (log) {
      const { entries, start } = log;
      for (const w of windows) {
        // The entries inside (now - ms, now]; the window is full at `points` of them, and frees a slot
        // when the points-th most recent leaves it.
        if (entries.length - start < w.points) continue;
        const pth = entries[entries.length - w.points]!;
        const frees = pth.t + w.ms - now;
        if (frees > wait) wait = frees;
      }
    }
    return wait;
  }

  /** Room for `n` more entries under maxEntries? Else how long until the oldest entry ages out. */
  capacityWaitMs(n: number, now: number): number {
    if (this.total + n <= this.maxEntries) return 0;
    this.sweep(now, 1_000); // full: look again, but at most once a second (a sweep walks every key)
    if (this.total + n <= this.maxEntries) return 0;
    let frees = Infinity;
    for (const log of this.logs.values()) frees = Math.min(frees, log.entries[log.start]!.t + log.horizon - now);
    return Math.max(1, frees);
  }

  /** Adds an entry at `now` (call waitMs first: add does not check). */
  add(key: string, now: number, windows: readonly Window[]): Entry {
    const entry = { t: now };
    const log = this.logs.get(key);
    if (log) insert(log.entries, entry);
    else this.logs.set(key, { entries: [entry], start: 0, horizon: longest(windows) });
    this.total++;
    return entry;
  }

  /** Takes one entry back; a no-op when it has aged out already. */
  remove(key: string, entry: Entry): void {
    const log = this.logs.get(key);
    if (!log) return;
    const at = log.entries.lastIndexOf(entry);
    if (at < log.start) return; // gone, or aged out already
    log.entries.splice(at, 1);
    this.total--;
    if (log.entries.length === log.start) this.logs.delete(key);
  }

  /** Moves an entry to a later time (the moment WeCom answered). */
  restamp(key: string, entry: Entry, t: number): void {
    const log = this.logs.get(key);
    if (!log) return;
    const at = log.entries.lastIndexOf(entry);
    if (at < log.start || t <= entry.t) return;
    log.entries.splice(at, 1);
    entry.t = t;
    insert(log.entries, entry);
  }

  /** Entries held now (for the memory bound and the specs). */
  get size(): { keys: number; entries: number } {
    return { keys: this.logs.size, entries: this.total };
  }

  /** The key's log with the entries past its horizon skipped (undefined, and dropped, when none is left). */
  private trimmed(key: string, now: number, horizon?: number): KeyLog | undefined {
    const log = this.logs.get(key);
    if (!log) return undefined;
    if (horizon !== undefined) log.horizon = horizon;
    const { entries } = log;
    const from = log.start;
    while (log.start < entries.length && now - entries[log.start]!.t >= log.horizon) log.start++;
    this.total -= log.start - from;
    if (log.start === entries.length) {
      this.logs.delete(key);
      return undefined;
    }
    // Compact now and then: amortised O(1) per entry.
    if (log.start > 64 && log.start * 2 > entries.length) {
      entries.splice(0, log.start);
      log.start = 0;
    }
    return log;
  }

  private sweep(now: number, every = SWEEP_MS): void {
    if (now - this.lastSweep < every) return;
    this.lastSweep = now;
    for (const key of [...this.logs.keys()]) this.trimmed(key, now);
  }
}

const longest = (windows: readonly Window[]) => windows.reduce((m, w) => Math.max(m, w.ms), 0);

/** Keeps a log ordered by time; entries nearly always arrive last, so search from the end. */
function insert(log: Entry[], entry: Entry): void {
  let at = log.length;
  while (at > 0 && log[at - 1]!.t > entry.t) at--;
  log.splice(at, 0, entry);
}
