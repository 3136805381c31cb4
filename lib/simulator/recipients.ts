import type { App } from './apps.js';
import { invalid, type Verdict } from './shape.js';

// message/send's touser / toparty / totag: `|`-joined id lists, checked against the app's visible range.

const MAX_USERS = 1000;
const MAX_PARTIES = 100;
const MAX_TAGS = 100;
export const ALL = '@all';

export interface Targets {
  users: string[];
  parties: string[];
  tags: string[];
}

export interface Resolved {
  /** Valid userids, `@all` expanded; ["@all"] when `@all` was sent and the app's users are open. */
  users: string[];
  invaliduser: string[];
  invalidparty: string[];
  invalidtag: string[];
  /** Whether any user, department or tag was valid: when none is, WeCom answers 81013. */
  anyValid: boolean;
}

/**
 * The three lists, or 40058 when one is not a string, all are empty, or one is too long. WeCom's
 * error table also has 40032 ("invalid userid list size", citing message/send's 1000) and 81012
 * ("no userid, department or tag") for two of these; which code message/send really answers is
 * unconfirmed, so the simulator answers its catch-all 40058 for all of them.
 */
export function parseTargets(body: Record<string, unknown>): { targets: Targets } | { verdict: Verdict } {
  const users = splitIds(body.touser);
  const parties = splitIds(body.toparty);
  const tags = splitIds(body.totag);
  if (!users || !parties || !tags) return { verdict: invalid('touser, toparty and totag must be strings') };
  if (users.length + parties.length + tags.length === 0) return { verdict: invalid('touser, toparty and totag are all empty') };
  if (users.length > MAX_USERS) return { verdict: invalid(`touser exceed max size ${MAX_USERS}`) };
  if (parties.length > MAX_PARTIES) return { verdict: invalid(`toparty exceed max size ${MAX_PARTIES}`) };
  if (tags.length > MAX_TAGS) return { verdict: invalid(`totag exceed max size ${MAX_TAGS}`) };
  return { targets: { users, parties, tags } };
}

/** Absent or null is an empty list; anything but a string is undefined. Empty segments are skipped. */
function splitIds(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string') return undefined;
  return value.split('|').filter((id) => id !== '');
}

/**
 * `@all` anywhere in touser means every member of the visible range, and then toparty and totag are
 * ignored (documented). Ids are matched case-sensitively and duplicates count once (both unconfirmed).
 */
export function resolveTargets(targets: Targets, app: App): Resolved {
  if (targets.users.includes(ALL)) {
    const users = app.users ? [...app.users] : [ALL];
    return { users, invaliduser: [], invalidparty: [], invalidtag: [], anyValid: users.length > 0 };
  }
  const [users, invaliduser] = partition(targets.users, (id) => !app.users || app.users.has(id));
  const [parties, invalidparty] = partition(targets.parties, (id) => isKnownId(id, app.parties));
  const [tags, invalidtag] = partition(targets.tags, (id) => isKnownId(id, app.tags));
  return { users, invaliduser, invalidparty, invalidtag, anyValid: users.length + parties.length + tags.length > 0 };
}

/** Department and tag ids are integers; a non-numeric one is always invalid. */
function isKnownId(id: string, known: ReadonlySet<number> | undefined): boolean {
  if (!/^\d{1,15}$/.test(id)) return false;
  return !known || known.has(Number(id));
}

function partition(ids: string[], isValid: (id: string) => boolean): [string[], string[]] {
  const valid: string[] = [];
  const rejected: string[] = [];
  for (const id of new Set(ids)) (isValid(id) ? valid : rejected).push(id);
  return [valid, rejected];
}
