// Cooldowns: when WeCom itself answers 45009 ("api freq out of limit") for a robot or an app, our
// own bucket let through more than WeCom accepts (another client shares the key, or WeCom counts
// differently). Asking again at once only extends the block, so the target is answered locally
// (429 / 45009 with Retry-After) until the cooldown ends, and WeCom is not called.
//
// The map lives for the process, not for a config generation: a reload that rebuilds the buckets
// must not lift a block WeCom put on us. Keys are the limiter's (`robot:<alias>`, `app:<name>`).
// The check is one Map lookup on a map that is empty unless WeCom refused something.

export interface CooldownEntry {
  target: string;
  remainingMs: number;
}

export class Cooldowns {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Starts (or extends, never shortens) the target's cooldown; returns when it ends (ms since epoch). */
  start(target: string, ms: number): number {
    const end = this.now() + ms;
    const current = this.until.get(target) ?? 0;
    if (end > current) this.until.set(target, end);
    return Math.max(end, current);
  }

  /** How long the target still cools down; 0 when it does not. */
  remainingMs(target: string): number {
    if (this.until.size === 0) return 0;
    const end = this.until.get(target);
    if (end === undefined) return 0;
    const left = end - this.now();
    if (left > 0) return left;
    this.until.delete(target);
    return 0;
  }

  /** Every target cooling down now (for metrics and the admin view). */
  active(): CooldownEntry[] {
    const out: CooldownEntry[] = [];
    for (const target of [...this.until.keys()]) {
      const remainingMs = this.remainingMs(target);
      if (remainingMs > 0) out.push({ target, remainingMs });
    }
    return out;
  }

  clear(): void {
    this.until.clear();
  }
}
