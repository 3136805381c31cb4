import { LRUCache } from 'lru-cache';

// Repeated requests. An agent that timed out, or a plugin that retries on its own, sends the same
// message again; the firewall answers the repeat with the first answer instead of posting twice.
// A repeat is the same Idempotency-Key from the same caller for the same robot or app, or, without
// one, the same caller, route, target and payload digest, within the window. Only answers that mean
// "WeCom has it" or "it is parked" are remembered: a refusal, a rate limit or an upstream failure is
// not, so a retry after one of those is judged afresh.
// In memory (lru-cache) for one process; a shared store can implement the same contract later.

export interface RememberedAnswer<T = unknown> {
  /** How the first request ended, for the transport to answer the repeat with. */
  outcome: T;
  /** Its size in bytes (WeCom's answer body): large answers are not kept. */
  size: number;
  /** The request that produced the answer: repeats point at it. */
  requestId: string;
  /** The payload digest, to tell a reused Idempotency-Key with another payload from a repeat. */
  sha256: string;
}

export interface DedupeKeyParts {
  idempotencyKey?: string;
  caller: string;
  route: string;
  /** The upstream path: one route (app.admin, app.other) covers many endpoints. */
  path: string;
  /** robot alias or app name */
  target: string;
  sha256: string;
}

export type DedupeOutcome<T = unknown> = { kind: 'first' } | { kind: 'repeat'; answer: RememberedAnswer<T> } | { kind: 'conflict'; answer: RememberedAnswer<T> };

/** Answers at most this large are remembered (WeCom's answers are tiny JSON). */
const MAX_REMEMBERED_BYTES = 64 * 1024;

export class Dedupe<T = unknown> {
  private readonly answers: LRUCache<string, RememberedAnswer<T>>;
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(options: { windowMs: number; maxEntries: number }) {
    this.answers = new LRUCache({ max: options.maxEntries, ttl: options.windowMs, ttlAutopurge: false });
  }

  static key(p: DedupeKeyParts): string {
    // Names and the caller are config-bounded; the digest or the (≤ 255-character) key bounds the rest.
    const what = p.idempotencyKey === undefined ? `d\0${p.sha256}` : `k\0${p.idempotencyKey}`;
    return `${p.caller}\0${p.route}\0${p.path}\0${p.target}\0${what}`;
  }

  /**
   * Runs `handle` unless `key` was answered within the window. A repeat arriving while the first is
   * still on its way waits for it. `handle` returns the answer to remember, or undefined.
   */
  async run(key: string, sha256: string, handle: () => Promise<RememberedAnswer<T> | undefined>): Promise<DedupeOutcome<T>> {
    for (;;) {
      const known = this.answers.get(key);
      if (known) return { kind: known.sha256 === sha256 ? 'repeat' : 'conflict', answer: known };
      const running = this.inflight.get(key);
      if (!running) break;
      await running.catch(() => undefined);
    }
    const first = handle();
    this.inflight.set(key, first);
    try {
      const answer = await first;
      if (answer && answer.size <= MAX_REMEMBERED_BYTES) this.answers.set(key, answer);
    } finally {
      this.inflight.delete(key);
    }
    return { kind: 'first' };
  }

  get size(): number {
    return this.answers.size;
  }
}
