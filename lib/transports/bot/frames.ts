import { randomBytes } from 'node:crypto';
import type { FirewallError } from '../../errors.js';
import { checkShape } from '../../request/parse-message.js';

// The bot WebSocket's frames: one JSON text message each, `{cmd, headers:{req_id}, body}`; an ack
// carries no cmd: `{headers:{req_id}, errcode, errmsg, body?}` (research/official-plugin.md §4).

export interface Frame {
  cmd?: string;
  headers: { req_id: string };
  body?: unknown;
  errcode?: number;
  errmsg?: string;
}

/** A frame that cannot be read; `reqId` when one could still be answered. */
export class BadFrame extends Error {
  constructor(
    message: string,
    readonly reqId?: string,
  ) {
    super(message);
    this.name = 'BadFrame';
  }
}

const MAX_REQ_ID = 256;

/** Reads one text message: a JSON object with headers.req_id (a short string) and, if any, a string cmd and an object body of a sane shape. */
export function parseFrame(text: string, options: { checkBody?: boolean } = {}): Frame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadFrame('not JSON');
  }
  if (!isObject(value)) throw new BadFrame('a frame is a JSON object');
  const headers = value.headers;
  const reqId = isObject(headers) ? headers.req_id : undefined;
  if (typeof reqId !== 'string' || !reqId || reqId.length > MAX_REQ_ID) throw new BadFrame(`headers.req_id must be a string of 1 to ${MAX_REQ_ID} characters`);
  if (value.cmd !== undefined && typeof value.cmd !== 'string') throw new BadFrame('cmd must be a string', reqId);
  if (value.body !== undefined && !isObject(value.body)) throw new BadFrame('body must be a JSON object', reqId);
  // An agent's body, as for HTTP bodies: no prototype keys, bounded depth and size, numbers JSON
  // carries faithfully. WeCom's frames are relayed as they came (their body is only read for metadata).
  if (options.checkBody !== false) {
    try {
      checkShape(value.body);
    } catch (err) {
      throw new BadFrame((err as Error).message, reqId);
    }
  }
  return { cmd: value.cmd as string | undefined, headers: { req_id: reqId }, body: value.body, errcode: typeof value.errcode === 'number' ? value.errcode : undefined, errmsg: typeof value.errmsg === 'string' ? value.errmsg : undefined };
}

/** A command frame whose body is exactly `bytes` (the bytes the policies judged). */
export function commandText(cmd: string, reqId: string, bytes: Buffer | string): string {
  return `{"cmd":${JSON.stringify(cmd)},"headers":{"req_id":${JSON.stringify(reqId)}},"body":${bytes.toString()}}`;
}

export function ackText(reqId: string, errcode: number, errmsg: string, body?: object): string {
  return JSON.stringify({ headers: { req_id: reqId }, errcode, errmsg, ...(body ? { body } : {}) });
}

/** A refusal as WeCom's error ack: the agent's SDK rejects the frame's promise with it. */
export function refusalText(reqId: string, err: FirewallError, redact: (text: string) => string, requestId?: string): string {
  return ackText(reqId, err.errcode, redact(err.message), requestId ? { request_id: requestId } : undefined);
}

/** A req_id as the SDK makes them: `<prefix>_<ms>_<8 hex>`. */
export const newReqId = (prefix: string) => `${prefix}_${Date.now()}_${randomBytes(4).toString('hex')}`;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
