import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import WebSocket from 'ws';
import type { AuditRecord } from '../../audit/audit.js';
import type { Bot } from '../../config/load.js';
import { FirewallError, POLICY_ERRCODES } from '../../errors.js';
import type { Outcome } from '../../pipeline/request.js';
import { asFirewallError } from '../egress/refusal.js';
import { BadFrame, ackText, isObject, parseFrame, refusalText, type Frame } from './frames.js';
import { frameRequest } from './requests.js';
import { BotLoginRefused } from './upstream.js';
import type { BotChannel } from './channel.js';

// One agent's WebSocket. Its first frame must be aibot_subscribe with a configured bot id and that
// bot's client secret; then every content frame goes through the pipeline and is answered with an
// ack: WeCom's own (forwarded), "pending approval" with the approval id (parked), or an error ack
// with the firewall's errcode (refused; nothing reached WeCom). Pings and upload chunks pass through.

/** The SDK logs in at once: a connection that has not within this long is closed. */
const LOGIN_WITHIN_MS = 10_000;

interface Upload {
  declared: number;
  chunks: number;
  received: number;
  seen: number;
}

const POLICY_CODES = new Set(Object.values(POLICY_ERRCODES));

export class AgentSession {
  bot?: Bot;
  private loggingIn = false;
  private readonly uploads = new Map<string, Upload>();
  private readonly loginTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    readonly caller: string,
    private readonly channel: BotChannel,
  ) {
    ws.on('message', (data, isBinary) => void this.onMessage(isBinary ? undefined : data.toString()));
    ws.on('close', () => {
      clearTimeout(this.loginTimer);
      channel.detach(this);
    });
    ws.on('error', () => ws.terminate());
    this.loginTimer = setTimeout(() => this.ws.close(1008, 'no aibot_subscribe in time'), LOGIN_WITHIN_MS).unref();
  }

  get connected(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    if (this.connected) this.ws.send(text);
  }

  /** Closes the connection; `code` 1000 (normal) or 1001 (the firewall stops) or 1012 (WeCom's side went: log in again). */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
  }

  private async onMessage(text: string | undefined): Promise<void> {
    if (text === undefined) return this.close(1003, 'text frames only');
    let frame: Frame;
    try {
      frame = parseFrame(text);
    } catch (err) {
      const bad = err as BadFrame;
      const record = this.record('bot.frame');
      const fe = new FirewallError('INVALID_PAYLOAD', `not a bot frame: ${bad.message}`);
      if (bad.reqId) this.send(refusalText(bad.reqId, fe, (t) => t, record.request_id));
      else this.close(1007, 'not a bot frame');
      return this.channel.audit(record, fe);
    }
    if (!this.bot) return this.login(frame);
    const cmd = frame.cmd;
    if (cmd === 'ping') return this.passThrough(frame, 'ping');
    if (cmd === 'aibot_upload_media_chunk' || cmd === 'aibot_upload_media_finish') return this.uploadPart(frame, cmd);
    if (cmd === undefined || cmd === 'aibot_subscribe') {
      const record = this.record('bot.frame');
      const fe = new FirewallError('INVALID_PAYLOAD', cmd ? 'already subscribed' : 'a frame from the agent needs a cmd');
      this.send(refusalText(frame.headers.req_id, fe, (t) => t, record.request_id));
      return this.channel.audit(record, fe);
    }
    return this.content(frame as Frame & { cmd: string });
  }

  private async login(frame: Frame): Promise<void> {
    const reqId = frame.headers.req_id;
    const record = this.record('bot.subscribe');
    if (this.loggingIn) {
      const fe = new FirewallError('BOT_NOT_SUBSCRIBED', 'wait for the answer to aibot_subscribe');
      this.send(refusalText(reqId, fe, (t) => t, record.request_id));
      return this.channel.audit(record, fe);
    }
    this.loggingIn = true;
    let failure: FirewallError | undefined;
    try {
      if (frame.cmd !== 'aibot_subscribe') throw new FirewallError('BOT_NOT_SUBSCRIBED');
      const body = isObject(frame.body) ? frame.body : {};
      const botId = typeof body.bot_id === 'string' ? body.bot_id : '';
      const secret = typeof body.secret === 'string' ? body.secret : '';
      const bot = this.channel.botById(botId);
      // Never echo or log the bot id an agent sent: it may have pasted a secret there.
      record.what.robot = bot ? `bot:${bot.alias}` : `unknown:${createHash('sha256').update(botId).digest('hex').slice(0, 12)}`;
      if (bot && same(bot.secret, secret)) this.channel.leaked(bot, record);
      if (!bot || !same(bot.clientSecret, secret)) throw new FirewallError('INVALID_CREDENTIAL', 'unknown bot_id or wrong secret'); // refused here: WeCom is not asked
      const ack = await this.channel.login(this, bot, body);
      if (!this.connected) return this.channel.detach(this); // the agent left while WeCom answered
      this.bot = bot;
      clearTimeout(this.loginTimer);
      record.decision = 'subscribed';
      record.upstream_errcode = ack.errcode;
      this.send(ackText(reqId, ack.errcode ?? 0, ack.errmsg ?? 'ok'));
    } catch (err) {
      if (err instanceof BotLoginRefused) {
        // WeCom refused the real secret: the agent gets WeCom's answer, the operator the cause.
        record.decision = 'upstream_error';
        record.upstream_errcode = err.ack.errcode;
        this.send(ackText(reqId, err.ack.errcode ?? -1, err.ack.errmsg ?? 'login refused by WeCom'));
        this.channel.log.error("WeCom refused the bot's login with the real secret: check bots.<alias>.secret", { bot: record.what.robot, errcode: err.ack.errcode });
      } else {
        failure = asFirewallError(err);
        this.send(refusalText(reqId, failure, this.channel.redact, record.request_id));
      }
      this.close(1008, 'subscribe refused');
    } finally {
      this.loggingIn = false;
      this.channel.audit(record, failure);
    }
  }

  /** A content frame: judged by the pipeline as one request, answered with an ack. */
  private async content(frame: Frame & { cmd: string }): Promise<void> {
    const bot = this.bot!;
    const reqId = frame.headers.req_id;
    const record = this.record('bot.other');
    let stream: string | undefined;
    let failure: FirewallError | undefined;
    try {
      const built = frameRequest(frame, bot, this.caller, this.channel.chats, record);
      stream = built.stream;
      const earlier = stream === undefined ? undefined : this.channel.streams(bot).get(stream);
      let outcome: Outcome;
      if (earlier?.kind === 'refused') throw earlier.error; // a refused stream stays refused
      if (earlier?.kind === 'parked') {
        // A parked stream grows: approvers see (and an approval sends) its latest state.
        this.channel.approvals.revise(earlier.approvalId, built.request.bytes, this.caller);
        record.decision = 'parked';
        record.what = { ...record.what, msgtype: built.request.msgtype, size: built.request.bytes.length, approval_id: earlier.approvalId };
        record.why = { reason: 'a later frame of a parked stream' };
        outcome = { kind: 'parked', approvalId: earlier.approvalId, requestId: earlier.requestId };
      } else {
        built.request.counted = earlier?.kind === 'allowed'; // one stream, one message against the limits
        outcome = await this.channel.pipeline(built.request, () => this.channel.forward(bot, frame.cmd, reqId, built.request.bytes));
        if (stream !== undefined && outcome.kind === 'parked') this.channel.streams(bot).set(stream, { kind: 'parked', approvalId: outcome.approvalId, requestId: outcome.requestId });
        // Counted once WeCom took its first frame: a stream WeCom refused is no message yet.
        if (stream !== undefined && outcome.kind === 'forwarded' && outcome.answer.errcode === 0) this.channel.streams(bot).set(stream, { kind: 'allowed' });
        if (frame.cmd === 'aibot_upload_media_init' && outcome.kind === 'forwarded') this.startUpload(outcome, frame.body);
      }
      this.send(this.ackOf(reqId, outcome));
    } catch (err) {
      failure = asFirewallError(err);
      // A policy's refusal of a stream holds for its later frames, whatever they carry.
      if (stream !== undefined && POLICY_CODES.has(failure.code)) this.channel.streams(bot).set(stream, { kind: 'refused', error: failure });
      this.send(refusalText(reqId, failure, this.channel.redact, record.request_id));
    } finally {
      this.channel.audit(record, failure);
    }
  }

  private ackOf(reqId: string, outcome: Outcome): string {
    const settled = outcome.kind === 'duplicate' ? outcome.first : outcome;
    if (settled.kind === 'refused') return refusalText(reqId, settled.error, this.channel.redact);
    if (settled.kind === 'forwarded') return settled.answer.body.toString(); // WeCom's ack, with the agent's req_id
    const body = { approval_id: settled.approvalId, request_id: settled.requestId, ...(settled.approved ? { expected_at: settled.approved.expectedAt } : {}) };
    return ackText(reqId, 0, settled.approved ? "approved; waiting for the bot's limit, it will be sent" : 'pending approval', body);
  }

  /** An upload WeCom started: its chunks may follow, up to the size and count declared at init (what the policies judged). */
  private startUpload(outcome: Outcome & { kind: 'forwarded' }, init: unknown): void {
    let ack: unknown;
    try {
      ack = JSON.parse(outcome.answer.body.toString());
    } catch {
      return;
    }
    const uploadId = isObject(ack) && isObject(ack.body) ? ack.body.upload_id : undefined;
    const declared = isObject(init) ? init : {};
    if (typeof uploadId === 'string' && outcome.answer.errcode === 0) {
      this.uploads.set(uploadId, { declared: Number(declared.total_size), chunks: Number.isSafeInteger(declared.total_chunks) ? (declared.total_chunks as number) : 100, received: 0, seen: 0 });
    }
  }

  /** A chunk or the finish of an upload whose init was allowed; anything else is refused here. */
  private async uploadPart(frame: Frame, cmd: 'aibot_upload_media_chunk' | 'aibot_upload_media_finish'): Promise<void> {
    const body = isObject(frame.body) ? frame.body : {};
    const upload = typeof body.upload_id === 'string' ? this.uploads.get(body.upload_id) : undefined;
    let refusal: string | undefined;
    if (!upload) refusal = 'unknown upload_id: an upload starts with aibot_upload_media_init on this connection';
    else if (cmd === 'aibot_upload_media_chunk') {
      const size = typeof body.base64_data === 'string' ? Buffer.byteLength(body.base64_data, 'base64') : -1;
      upload.received += size;
      upload.seen += 1;
      if (size < 0 || upload.received > upload.declared || upload.seen > upload.chunks) refusal = 'the chunks pass the size or count declared at aibot_upload_media_init (what the policies judged)';
    }
    if (refusal) {
      if (upload) this.uploads.delete(body.upload_id as string);
      const record = this.record('bot.upload_media');
      const fe = new FirewallError('INVALID_PAYLOAD', refusal);
      this.send(refusalText(frame.headers.req_id, fe, this.channel.redact, record.request_id));
      return this.channel.audit(record, fe);
    }
    if (cmd === 'aibot_upload_media_finish') this.uploads.delete(body.upload_id as string);
    return this.passThrough(frame, cmd === 'aibot_upload_media_chunk' ? 'upload_chunk' : 'upload_finish');
  }

  /** Frames that are not judged one by one (pings, the parts of an allowed upload): relayed, their acks relayed back, counted. */
  private async passThrough(frame: Frame, kind: string): Promise<void> {
    const bot = this.bot!;
    this.channel.count(bot, kind);
    try {
      const body = frame.body === undefined ? undefined : JSON.stringify(frame.body);
      this.send((await this.channel.forward(bot, frame.cmd!, frame.headers.req_id, body)).body.toString());
    } catch (err) {
      this.send(refusalText(frame.headers.req_id, asFirewallError(err), this.channel.redact));
    }
  }

  /** A frame's audit record, refused until it says otherwise; `started` gives its latency. */
  private record(route: string): AuditRecord & { started: number } {
    return { decision: 'rejected', request_id: randomUUID(), who: this.caller, what: { route, ...(this.bot ? { robot: `bot:${this.bot.alias}` } : {}) }, started: performance.now() };
  }
}

function same(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

