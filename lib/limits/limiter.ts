import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { FirewallError } from '../errors.js';
import type { Rate } from '../config/units.js';

// Three buckets a message must pass, global → caller → its robot or app (rate-limiter-flexible, in
// memory).
// A message refused by a later bucket gets its tokens back from the earlier ones, so a refusal
// never spends quota. Any limiter error refuses the message (fail closed).

export interface LimitsConfig {
  global?: Rate;
  perCaller?: Rate;
  /** Opt-in pacing: wait up to this long for a token instead of refusing at once. 0 = off. */
  pacingMaxWaitMs: number;
}

type Bucket = { name: string; limiter: RateLimiterMemory; key: string };

/** Where a message goes: a robot alias or an app name (they may share a name, so the kind is part of the key). */
export interface Target {
  kind: 'robot' | 'app';
  name: string;
}

const keyOf = (t: Target) => `${t.kind}:${t.name}`;

/** Gives one token back to each bucket (a later check refused the message it was taken for). */
const refund = async (buckets: Bucket[]) => {
  await Promise.all(buckets.map((b) => b.limiter.reward(b.key, 1).catch(() => undefined)));
};

const limiterFor = (rate: Rate, prefix: string) => new RateLimiterMemory({ points: rate.points, duration: rate.durationSec, keyPrefix: prefix });

export class Limits {
  private readonly global?: RateLimiterMemory;
  private readonly perCaller?: RateLimiterMemory;
  private readonly perTarget = new Map<string, RateLimiterMemory>();

  constructor(private readonly config: LimitsConfig, targets: Iterable<Target & { limit: Rate }>) {
    if (config.global) this.global = limiterFor(config.global, 'global');
    if (config.perCaller) this.perCaller = limiterFor(config.perCaller, 'caller');
    for (const t of targets) this.perTarget.set(keyOf(t), limiterFor(t.limit, keyOf(t)));
  }

  /**
   * Takes one token from each bucket (the target's only when one is given) or throws RATE_LIMITED
   * (with Retry-After) / LIMITER_UNAVAILABLE. Resolves to a function that gives the tokens back.
   */
  async take(target: Target | undefined, caller: string, maxWaitMs = this.config.pacingMaxWaitMs): Promise<() => Promise<void>> {
    const buckets: Bucket[] = [];
    if (this.global) buckets.push({ name: 'global', limiter: this.global, key: 'all' });
    if (this.perCaller) buckets.push({ name: 'caller', limiter: this.perCaller, key: caller });
    if (target) {
      const limiter = this.perTarget.get(keyOf(target));
      if (!limiter) throw new FirewallError('LIMITER_UNAVAILABLE', `no bucket for this ${target.kind}`);
      buckets.push({ name: target.kind, limiter, key: target.name });
    }

    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const refused = await this.tryAll(buckets);
      if (!refused) return () => refund(buckets);
      const wait = Math.max(refused.msBeforeNext, 1);
      if (Date.now() + wait > deadline) {
        const retryAfter = Math.max(1, Math.ceil(wait / 1000));
        throw new FirewallError('RATE_LIMITED', `${refused.name} limit reached, retry in ${retryAfter}s`, { headers: { 'Retry-After': String(retryAfter) } });
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async tryAll(buckets: Bucket[]): Promise<{ name: string; msBeforeNext: number } | undefined> {
    const taken: Bucket[] = [];
    for (const b of buckets) {
      try {
        await b.limiter.consume(b.key);
        taken.push(b);
      } catch (err) {
        await refund(taken);
        if (err instanceof RateLimiterRes) return { name: b.name, msBeforeNext: err.msBeforeNext };
        throw new FirewallError('LIMITER_UNAVAILABLE', 'rate limiter failed', { cause: err });
      }
    }
    return undefined;
  }
}
