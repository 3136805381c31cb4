// WeCom's per-member receive limits for app messages. Past them WeCom still answers errcode 0 and
// simply does not deliver to that member, so the simulator reports the member as dropped.
// Only deliveries count: a dropped message does not use the member's quota (unconfirmed).

export interface Window {
  limit: number;
  ms: number;
}

/** message/send: 30 per minute and 1000 per hour, per app and member. */
export const MESSAGE_WINDOWS: readonly Window[] = [
  { limit: 30, ms: 60_000 },
  { limit: 1000, ms: 3_600_000 },
];

/** appchat/send: 200 per minute per member (documented) and 10000 per day (WeCom's appchat page; unconfirmed). */
export const APPCHAT_WINDOWS: readonly Window[] = [
  { limit: 200, ms: 60_000 },
  { limit: 10_000, ms: 86_400_000 },
];

export class MemberLimit {
  readonly #windows: readonly Window[];
  readonly #longest: number;
  readonly #received = new Map<string, number[]>();

  constructor(windows: readonly Window[]) {
    this.#windows = windows;
    this.#longest = Math.max(...windows.map((window) => window.ms));
  }

  /** Whether `member` may receive one more message at `now`; records it when so. */
  admit(member: string, now: number): boolean {
    const recent = (this.#received.get(member) ?? []).filter((at) => now - at < this.#longest);
    const full = this.#windows.some((window) => recent.filter((at) => now - at < window.ms).length >= window.limit);
    if (!full) recent.push(now);
    this.#received.set(member, recent);
    return !full;
  }

  clear(): void {
    this.#received.clear();
  }
}
