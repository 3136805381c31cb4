import type { AuditRecord } from '../../audit/audit.js';
import type { Bot } from '../../config/load.js';
import { FirewallError } from '../../errors.js';
import type { Request } from '../../pipeline/request.js';
import type { ChatMemory } from './chats.js';
import { isObject, type Frame } from './frames.js';
import { REPLY_COMMANDS, botRouteOf } from '../../request/bot-route.js';

// An outbound frame as a pipeline Request: the frame's body is the payload (a reply also carries the
// chat it answers, from the callback it names), its exact bytes are what is forwarded or parked, and
// the req_id and chat travel with a parked record so it can be sent as it would have been.

export interface FrameRequest {
  request: Request;
  /** A stream reply: its key (req_id and stream id), for answering its later frames alike. */
  stream?: string;
}

export function frameRequest(frame: Frame & { cmd: string }, bot: Bot, caller: string, chats: ChatMemory, record: AuditRecord): FrameRequest {
  const { cmd } = frame;
  const reqId = frame.headers.req_id;
  const route = botRouteOf(cmd);
  record.what.route = route;
  const body = isObject(frame.body) ? frame.body : {};
  const bytes = Buffer.from(JSON.stringify(body));
  const base = { requestId: record.request_id, caller, route, method: 'POST' as const, noHold: true, path: cmd, target: { kind: 'bot' as const, name: bot.alias }, bytes, contentType: 'application/json', record };
  const msgtype = typeof body.msgtype === 'string' ? body.msgtype : undefined;

  if (route === 'bot.upload_media') {
    const { type, filename, total_size: size } = body;
    if (typeof type !== 'string' || typeof filename !== 'string' || !Number.isSafeInteger(size) || (size as number) < 0) {
      throw new FirewallError('INVALID_PAYLOAD', 'aibot_upload_media_init needs type, filename and total_size');
    }
    return { request: { ...base, msgtype: type, payload: { type, media: { filename, size } }, upstreamQuery: '', unparkable: 'an upload on the bot channel cannot be parked (park the message that sends it)' } };
  }
  // The chat fields policies match on are the firewall's, never the agent's: an agent writing
  // `chattype: single` into its body must not slip a mass mention past a rule.
  const { chatid: _chatid, chattype: _chattype, from: _from, ...own } = body;
  if (REPLY_COMMANDS.has(cmd)) {
    // The chat it answers, as WeCom named it in the callback (absent when the firewall did not see it).
    const chat = chats.answering(bot.alias, reqId);
    const payload = chat ? { ...own, chatid: chat.chatid, chattype: chat.chattype, from: { userid: chat.userid } } : own;
    const query = new URLSearchParams({ req_id: reqId, ...(chat?.chatid ? { chatid: chat.chatid } : {}), ...(chat?.chattype ? { chattype: chat.chattype } : {}) }).toString();
    const stream = (body.msgtype === 'stream' || body.msgtype === 'stream_with_template_card') && isObject(body.stream) ? body.stream : undefined;
    const streamId = stream && typeof stream.id === 'string' ? stream.id : undefined;
    return { request: { ...base, msgtype, payload, upstreamQuery: query }, stream: streamId !== undefined ? `${reqId}\0${streamId}` : undefined };
  }
  // A new message: the chat is named in the body (WeCom sends it there); its type only when a callback showed it.
  const chatid = typeof body.chatid === 'string' ? body.chatid : undefined;
  const chattype = chatid ? chats.typeOf(bot.alias, chatid) : undefined;
  const payload = { ...own, ...(body.chatid !== undefined ? { chatid: body.chatid } : {}), ...(chattype ? { chattype } : {}) };
  return { request: { ...base, msgtype, payload, upstreamQuery: '' } };
}

