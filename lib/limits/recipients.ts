// WeCom silently drops app messages beyond 30 a minute or 1000 an hour to one member: the send
// answers errcode 0 and the member never sees the message. Counting per recipient (limiter.ts)
// turns that silent loss into a refusal the agent can act on. All of a message's recipients must
// have room, or none is charged.

export const PER_MEMBER = [
  { points: 30, duration: 60 },
  { points: 1000, duration: 3600 },
] as const;

/**
 * The per-member log holds at most this many (member, send) entries from the last hour, whatever ids
 * agents invent. Measured: ~330 bytes for an entry of a member seen once (its hashed key, the Map
 * slot, the log and the entry), so ~33 MB at the bound; a member's further entries cost far less.
 * Past it, app sends to individual members are refused (429) until entries age out.
 */
export const MAX_MEMBER_SENDS = 100_000;

/** The individual recipients of a message/send body ("a|b|c"); none for "@all", which cannot be counted per member. */
export function recipientsOf(payload: Record<string, unknown>): string[] {
  const touser = payload.touser;
  if (typeof touser !== 'string' || touser.trim() === '@all') return [];
  return touser.split('|').map((u) => u.trim()).filter(Boolean);
}
