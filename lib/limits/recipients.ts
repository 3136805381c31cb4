import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { FirewallError } from '../errors.js';

// WeCom silently drops app messages beyond 30 a minute or 1000 an hour to one member: the send
// answers errcode 0 and the member never sees the message. Counting per recipient here turns that
// silent loss into a refusal the agent can act on. All of a message's recipients must have room,
// or none is charged.

export const PER_MEMBER = [
  { points: 30, duration: 60 },
  { points: 1000, duration: 3600 },
] as const;

export class RecipientLimits {
  private readonly windows = PER_MEMBER.map((w, i) => new RateLimiterMemory({ ...w, keyPrefix: `member${i}` }));

  /** Charges one message to each recipient of `app`; returns a refund, or throws RATE_LIMITED. */
  async take(app: string, recipients: string[]): Promise<() => Promise<void>> {
    const charged: Array<[RateLimiterMemory, string]> = [];
    const refund = async () => {
      await Promise.all(charged.map(([w, key]) => w.reward(key, 1).catch(() => undefined)));
    };
    for (const user of new Set(recipients)) {
      for (const window of this.windows) {
        const key = createHash('sha256').update(`${app}\u0000${user}`).digest('base64url'); // fixed size, whatever the id
        try {
          await window.consume(key);
          charged.push([window, key]);
        } catch (err) {
          await refund();
          if (!(err instanceof RateLimiterRes)) throw new FirewallError('LIMITER_UNAVAILABLE', 'recipient limiter failed', { cause: err });
          const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
          throw new FirewallError('RATE_LIMITED', `a recipient has had ${window.points} messages in ${window.duration}s, WeCom would drop more silently; retry in ${retryAfter}s`, {
            headers: { 'Retry-After': String(retryAfter) },
          });
        }
      }
    }
    return refund;
  }
}

/** The individual recipients of a message/send body ("a|b|c"); none for "@all", which cannot be counted per member. */
export function recipientsOf(payload: Record<string, unknown>): string[] {
  const touser = payload.touser;
  if (typeof touser !== 'string' || touser.trim() === '@all') return [];
  return touser.split('|').map((u) => u.trim()).filter(Boolean);
}
