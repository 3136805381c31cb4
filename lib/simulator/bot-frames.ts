import type { RawData } from 'ws';
import { decodeUtf8 } from './body.js';
import { weComAnswer } from './reply.js';
import { invalid, isNonEmptyString, isRecord, type Verdict } from './shape.js';

// The bot long connection's wire format: one JSON text message per frame, `{cmd, headers:{req_id},
// body}` from the client, and acks without a cmd, `{headers:{req_id}, errcode, errmsg, body?}`,
// matched by the SDK on req_id (@wecom/aibot-node-sdk 1.0.7, dist/index.cjs.js handleFrame).

export const CMD = {
  subscribe: 'aibot_subscribe',
  ping: 'ping',
  respond: 'aibot_respond_msg',
  respondUpdate: 'aibot_respond_update_msg',
  respondWelcome: 'aibot_respond_welcome_msg',
  send: 'aibot_send_msg',
  sendBiz: 'aibot_send_biz_msg',
  uploadInit: 'aibot_upload_media_init',
  uploadChunk: 'aibot_upload_media_chunk',
  uploadFinish: 'aibot_upload_media_finish',
  msgCallback: 'aibot_msg_callback',
  eventCallback: 'aibot_event_callback',
} as const;

/**
 * Codes only the bot channel has. Both are named by the official plugin (message-sender.js):
 * 846605 "invalid req_id" (a reply whose req_id is no callback's) and 846608 "stream expired"
 * (a stream updated more than 6 minutes after its callback, on which the plugin falls back to
 * aibot_send_msg). Every other code is the HTTP API's, with its wording (reply.ts).
 */
export const INVALID_REQ_ID = 846605;
export const STREAM_EXPIRED = 846608;
const BOT_MESSAGES: Record<number, string> = { [INVALID_REQ_ID]: 'invalid req_id', [STREAM_EXPIRED]: 'stream expired' };

/**
 * WeCom's answer to a bad subscribe is not published; 40001 is its "invalid credential" (gettoken's
 * wrong secret), the nearest documented meaning. Frames before a subscribe get it too: an
 * unauthenticated connection has presented no valid credential.
 */
export const INVALID_CREDENTIAL = 40001;

export interface InboundFrame {
  cmd: string;
  reqId: string;
  body: unknown;
}

/** A frame, or why it is not one (with whatever req_id and cmd could be read, to answer and record). */
export type Parsed = { ok: true; frame: InboundFrame } | { ok: false; problem: Verdict; frame: InboundFrame };

export function parseFrame(data: RawData, isBinary: boolean): Parsed {
  const broken = (detail: string, frame: InboundFrame = { cmd: '', reqId: '', body: null }): Parsed => ({ ok: false, problem: invalid(detail), frame });
  if (isBinary) return broken('frames must be JSON text');
  const text = decodeUtf8(toBuffer(data));
  if (text === undefined) return broken('frame is not valid UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return broken('Warning: wrong json format');
  }
  if (!isRecord(json)) return broken('frame must be a JSON object');
  const reqId = isRecord(json.headers) && typeof json.headers.req_id === 'string' ? json.headers.req_id : '';
  const cmd = typeof json.cmd === 'string' ? json.cmd : '';
  const frame = { cmd, reqId, body: json.body ?? null };
  if (reqId === '') return broken('headers.req_id missing', frame);
  if (cmd === '') return broken('cmd missing', frame);
  return { ok: true, frame };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

export interface Ack {
  headers: { req_id: string };
  errcode: number;
  errmsg: string;
  body?: Record<string, unknown>;
}

/** `ok`, or the HTTP API's errmsg shape (with hint and client ip) for the refusal. */
export function ack(reqId: string, verdict: Verdict, ip: string, body?: Record<string, unknown>): Ack {
  const headers = { req_id: reqId };
  if (verdict.errcode === 0) return body === undefined ? { headers, errcode: 0, errmsg: 'ok' } : { headers, errcode: 0, errmsg: 'ok', body };
  const own = BOT_MESSAGES[verdict.errcode];
  const errmsg = own === undefined ? weComAnswer(verdict.errcode, ip, verdict.detail).errmsg : verdict.detail ? `${verdict.detail}. ${own}` : own;
  return { headers, errcode: verdict.errcode, errmsg };
}

/** A push to the client: a callback, or the disconnected_event. */
export interface Push {
  cmd: string;
  headers: { req_id: string };
  body: Record<string, unknown>;
}

export interface CallbackDefaults {
  botId: string;
  /** Unix milliseconds. */
  now: number;
  msgid: string;
}

/**
 * A callback body with the fields WeCom always sends filled in where the caller left them out
 * (message.d.ts BaseMessage / event.d.ts EventMessage). The SDK drops a frame without msgtype.
 */
export function callbackBody(cmd: string, body: Record<string, unknown>, defaults: CallbackDefaults): Record<string, unknown> {
  const isEvent = cmd === CMD.eventCallback;
  const filled: Record<string, unknown> = {
    ...envelope(defaults),
    chattype: 'single',
    from: { userid: 'sim-user' },
    msgtype: isEvent ? 'event' : 'text',
    ...body,
  };
  if (!isEvent && filled.msgtype === 'text' && !isRecord(filled.text)) filled.text = { content: 'hello' };
  return filled;
}

/**
 * The event WeCom sends an older connection when the same bot subscribes elsewhere; the SDK then
 * stops reconnecting. Nobody in a chat caused it, so it carries no chat and no sender.
 */
export function disconnectedEvent(reqId: string, defaults: CallbackDefaults): Push {
  const body = { ...envelope(defaults), msgtype: 'event', event: { eventtype: 'disconnected_event' } };
  return { cmd: CMD.eventCallback, headers: { req_id: reqId }, body };
}

/** create_time is in seconds, as in every WeCom callback. */
function envelope(defaults: CallbackDefaults): Record<string, unknown> {
  return { msgid: defaults.msgid, aibotid: defaults.botId, create_time: Math.floor(defaults.now / 1000) };
}

/** bot_id ('' when missing) and secret (null when not a string) of an aibot_subscribe body. */
export function subscribeFields(body: unknown): { botId: string; secret: string | null } {
  if (!isRecord(body)) return { botId: '', secret: null };
  return { botId: isNonEmptyString(body.bot_id) ? body.bot_id : '', secret: typeof body.secret === 'string' ? body.secret : null };
}
