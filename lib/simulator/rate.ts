// WeCom's per-robot limit: at most `limit` accepted messages in any rolling 60 s.

const WINDOW_MS = 60_000;

export class RollingWindow {
  readonly #limit: number;
  readonly #sent = new Map<string, number[]>();

  /** `limit` 0 disables the window. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  isFull(key: string, now: number): boolean {
    if (this.#limit === 0) return false;
    return this.#recent(key, now).length >= this.#limit;
  }

  record(key: string, now: number): void {
    if (this.#limit === 0) return;
    this.#sent.set(key, [...this.#recent(key, now), now]);
  }

  clear(): void {
    this.#sent.clear();
  }

  #recent(key: string, now: number): number[] {
    const recent = (this.#sent.get(key) ?? []).filter((at) => now - at < WINDOW_MS);
    this.#sent.set(key, recent);
    return recent;
  }
}
