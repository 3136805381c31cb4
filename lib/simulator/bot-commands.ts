import { checkBiz, checkRespond, checkSend, checkUpdate, checkWelcome, type MediaCheck } from './bot-content.js';
import { CMD, INVALID_REQ_ID, STREAM_EXPIRED, type InboundFrame } from './bot-frames.js';
import type { SentCallback, BotState } from './bot-state.js';
import type { UploadAnswer } from './bot-upload.js';
import { invalid, isRecord, OK, type Verdict } from './shape.js';

// What WeCom answers each command a subscribed bot sends (ping and subscribe are the connection's
// business, bot.ts). Pure over BotState and the clock, so the rules read in one place:
// - replies (aibot_respond_*) must name, by req_id, a callback WeCom pushed to this bot, of the
//   right kind; otherwise 846605 (invalid req_id). The plugin answers event callbacks with
//   aibot_send_msg "to avoid 846605" (message-sender.js), so aibot_respond_msg takes message
//   callbacks only; the SDK README ties welcome replies to enter_chat and card updates to
//   template_card_event, each "within 5 s". WeCom's code for a late welcome or update is not
//   published; 846605 is used (the req_id is no longer valid).
// - a stream frame more than 6 minutes after its callback: 846608 (stream expired).
// - a stream that was finished takes no more frames (40058; WeCom's code for it is not published).

const STREAM_TTL_MS = 6 * 60 * 1000;
const EVENT_REPLY_TTL_MS = 5 * 1000;
const STREAM_MSGTYPES: ReadonlySet<unknown> = new Set(['stream', 'stream_with_template_card']);

export function runCommand(bots: BotState, botId: string, frame: InboundFrame, now: number): UploadAnswer {
  const mediaOk = (mediaId: string) => bots.uploads.media.isValid(botId, mediaId, now);
  switch (frame.cmd) {
    case CMD.respond:
      return { verdict: respond(bots, botId, frame, now, mediaOk) };
    case CMD.respondWelcome:
      return { verdict: eventReply(bots, botId, frame, now, 'enter_chat') ?? counted(bots, botId, now, checkWelcome(frame.body)) };
    case CMD.respondUpdate:
      return { verdict: eventReply(bots, botId, frame, now, 'template_card_event') ?? counted(bots, botId, now, checkUpdate(frame.body)) };
    case CMD.send:
      return { verdict: counted(bots, botId, now, checkSend(frame.body, mediaOk)) };
    case CMD.sendBiz:
      return { verdict: counted(bots, botId, now, checkBiz(frame.body)) };
    case CMD.uploadInit:
      return bots.uploads.init(botId, frame.body);
    case CMD.uploadChunk:
      return bots.uploads.chunk(botId, frame.body);
    case CMD.uploadFinish:
      return bots.uploads.finish(botId, frame.body, now);
    default:
      return { verdict: invalid('invalid cmd') };
  }
}

function respond(bots: BotState, botId: string, frame: InboundFrame, now: number, mediaOk: MediaCheck): Verdict {
  const callback = bots.callback(botId, frame.reqId);
  if (callback?.cmd !== CMD.msgCallback) return { errcode: INVALID_REQ_ID };
  const verdict = checkRespond(frame.body, mediaOk);
  if (verdict.errcode !== 0) return verdict;
  const body = frame.body as Record<string, unknown>;
  if (!STREAM_MSGTYPES.has(body.msgtype)) return counted(bots, botId, now, OK);
  return streamFrame(bots, botId, frame.reqId, callback, body.stream as Record<string, unknown>, now);
}

/** One frame of a stream: it replaces the text so far; `finish` closes the stream. */
function streamFrame(bots: BotState, botId: string, reqId: string, callback: SentCallback, stream: Record<string, unknown>, now: number): Verdict {
  if (now - callback.at > STREAM_TTL_MS) return { errcode: STREAM_EXPIRED };
  const streamId = stream.id as string;
  const known = bots.stream(botId, reqId, streamId);
  if (known?.finished) return invalid('stream already finished');
  // A stream is one message: only its first frame counts toward the rate.
  const verdict = known ? OK : counted(bots, botId, now, OK);
  if (verdict.errcode === 0) bots.updateStream(botId, reqId, streamId, stream.content as string | undefined, stream.finish === true);
  return verdict;
}

/** undefined when `frame` may answer its callback: an event of `eventtype`, pushed under 5 s ago. */
function eventReply(bots: BotState, botId: string, frame: InboundFrame, now: number, eventtype: string): Verdict | undefined {
  const callback = bots.callback(botId, frame.reqId);
  const fits = callback?.cmd === CMD.eventCallback && callback.eventtype === eventtype && now - callback.at <= EVENT_REPLY_TTL_MS;
  return fits ? undefined : { errcode: INVALID_REQ_ID, detail: `req_id must be an ${eventtype} event's, within 5 s` };
}

/** An accepted message counts toward botRatePerMinute (off by default); past it, 45009. */
function counted(bots: BotState, botId: string, now: number, verdict: Verdict): Verdict {
  if (verdict.errcode !== 0) return verdict;
  if (bots.rate.isFull(botId, now)) return { errcode: 45009 };
  bots.rate.record(botId, now);
  return verdict;
}

/** event.eventtype of a callback body, for matching replies to their event. */
export function eventtypeOf(body: Record<string, unknown>): string | undefined {
  return isRecord(body.event) && typeof body.event.eventtype === 'string' ? body.event.eventtype : undefined;
}
