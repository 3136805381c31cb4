import { FirewallError } from '../errors.js';

// Turns a webhook/send body into the payload policies see. Only the envelope is checked here
// (UTF-8, a JSON object, msgtype and its object); the per-msgtype contract lives in policies.

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface ParsedMessage {
  msgtype: string;
  payload: Record<string, unknown>;
  /** The parsed payload serialised again (no duplicate keys or parser differentials survive it). */
  canonical: Buffer;
}

/** WeCom payloads are a few levels deep and at most a few hundred values; more is refused, not walked. */
export const MAX_DEPTH = 16;
export const MAX_NODES = 10_000;

/**
 * Refuses keys that could pollute prototypes where the payload is merged later (escaped spellings
 * such as "\u005f_proto__" included: this runs on the parsed keys), nesting past MAX_DEPTH, more
 * than MAX_NODES values, and numbers JSON cannot carry faithfully.
 * Iterative, so hostile nesting cannot exhaust the stack.
 */
export function checkShape(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 0]];
  let nodes = 0;
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (++nodes > MAX_NODES) throw new FirewallError('INVALID_PAYLOAD', `more than ${MAX_NODES} values`);
    // 1e999 parses as Infinity and is forwarded as null; a big integer is rounded: refuse both, so
    // what WeCom reads is what the policies checked.
    if (typeof value === 'number' && (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))) {
      throw new FirewallError('INVALID_PAYLOAD', 'a number is out of range');
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) throw new FirewallError('INVALID_PAYLOAD', `nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (const v of value) stack.push([v, depth + 1]);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new FirewallError('INVALID_PAYLOAD', `key "${key}" is not allowed`);
      stack.push([(value as Record<string, unknown>)[key], depth + 1]);
    }
  }
}

export function checkJsonContentType(contentType: string | undefined): void {
  const [type = '', ...params] = (contentType ?? '').toLowerCase().split(';').map((s) => s.trim());
  if (type !== 'application/json') throw new FirewallError('UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json');
  const charset = params.find((p) => p.startsWith('charset='));
  if (charset && !/^charset="?utf-8"?$/.test(charset)) throw new FirewallError('UNSUPPORTED_MEDIA_TYPE', 'the body must be UTF-8');
}

/** UTF-8 JSON whose top level is an object, shape-checked (see checkShape). */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new FirewallError('INVALID_PAYLOAD', 'body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FirewallError('INVALID_PAYLOAD', 'body is not valid JSON');
  }
  checkShape(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new FirewallError('INVALID_PAYLOAD', 'body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A message body: a JSON object with a msgtype and the object it names. */
export function parseMessage(body: Buffer): ParsedMessage {
  const payload = parseJsonObject(body);
  const { msgtype } = payload;
  if (typeof msgtype !== 'string' || !msgtype) throw new FirewallError('INVALID_MSGTYPE', 'msgtype is missing');
  const inner = Object.hasOwn(payload, msgtype) ? payload[msgtype] : undefined;
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) throw new FirewallError('INVALID_PAYLOAD', 'the object named by msgtype is missing');
  return { msgtype, payload, canonical: canonical(payload) };
}

/** What is forwarded: the parsed payload serialised again, so WeCom reads exactly what policies checked. */
export const canonical = (payload: object): Buffer => Buffer.from(JSON.stringify(payload), 'utf8');
