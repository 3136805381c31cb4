import { createHash, randomUUID } from 'node:crypto';
import type http from 'node:http';
import WebSocket from 'ws';
import type { Callers } from '../../callers/identify.js';
import type { AuditRecord } from '../../audit/audit.js';
import type { Bot } from '../../config/load.js';
import { sameSecret } from '../../config/secrets.js';
import { FirewallError, POLICY_ERRCODES } from '../../errors.js';
import type { Outcome, Request } from '../../pipeline/request.js';
import type { UpstreamAnswer } from '../../upstream/send.js';
import { asFirewallError } from '../../http/respond.js';
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
/** The SDK pings every 30 s: more than one a second is no heartbeat, and would only spend the bot's connection. */
const PING_EVERY_MS = 1_000;
/** How long an agent told to go has to answer the close frame. */
const CLOSE_GRACE_MS = 1_000;

interface Upload {
  declared: number;
  chunks: number;
  /** Bytes by chunk_index: a chunk the SDK sends again (after WeCom refused it) replaces its earlier size. */
  sizes: Map<number, number>;
}

const POLICY_CODES = new Set(Object.values(POLICY_ERRCODES));

export class AgentSession {
  bot?: Bot;
  private loggingIn = false;
  private lastPing = 0;
  private closing = false;
  private readonly uploads = new Map<string, Upload>();
  private readonly loginTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    readonly caller: string,
    private readonly channel: BotChannel,
    /** What the caller presented on the upgrade (its request, the /t/<token>/ prefix): checked again after a reload. */
    private readonly presented: { req: http.IncomingMessage; token?: string },
  ) {
    ws.on('message', (data, isBinary) => void this.onMessage(isBinary ? undefined : data.toString()));
    ws.on('close', () => {
      clearTimeout(this.loginTimer);
      channel.detach(this);
    });
    ws.on('error', () => ws.terminate());
    this.loginTimer = setTimeout(() => this.close(1008, 'no aibot_subscribe in time'), LOGIN_WITHIN_MS).unref();
  }

  /** Whether the caller that opened this connection is still that caller under `callers` (after a reload). */
  stillCaller(callers: Callers): boolean {
    try {
      return callers.identify(this.presented.req, this.presented.token) === this.caller;
    } catch {
      return false;
    }
  }

  get connected(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.closing;
  }

  send(text: string): void {
    if (this.connected) this.ws.send(text);
  }

  /**
   * Closes the connection; `code` 1000 (normal), 1001 (the firewall stops), 1008 (refused), 1012
   * (log in again). From now on its frames are dropped; an agent that does not answer the close is
   * cut off after CLOSE_GRACE_MS (ws would wait 30 s, and keep the socket, and a stopping server, open).
   */
  close(code: number, reason: string): void {
    this.closing = true;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private async onMessage(text: string | undefined): Promise<void> {
    if (this.closing) return; // told to go: nothing more is judged or forwarded for it
    if (text === undefined) return this.close(1003, 'text frames only');
    let frame: Frame;
    try {
      frame = parseFrame(text);
    } catch (err) {
      const bad = err as BadFrame;
      const record = this.record('bot.frame');
      const fe = new FirewallError('INVALID_PAYLOAD', `not a bot frame: ${bad.message}`);
      if (bad.reqId) this.send(refusalText(bad.reqId, fe, this.channel.redact, record.request_id));
      else this.close(1007, 'not a bot frame');
      return this.channel.audit(record, fe);
    }
    if (!this.bot) return this.login(frame);
    const cmd = frame.cmd;
    if (cmd === 'ping') return this.ping(frame);
    if (cmd === 'aibot_upload_media_chunk' || cmd === 'aibot_upload_media_finish') return this.uploadPart(frame, cmd);
    if (cmd === undefined || cmd === 'aibot_subscribe') {
      const record = this.record('bot.frame');
      const fe = new FirewallError('INVALID_PAYLOAD', cmd ? 'already subscribed' : 'a frame from the agent needs a cmd');
      this.send(refusalText(frame.headers.req_id, fe, this.channel.redact, record.request_id));
      return this.channel.audit(record, fe);
    }
    return this.content(frame as Frame & { cmd: string });
  }

  private async login(frame: Frame): Promise<void> {
    const reqId = frame.headers.req_id;
    const record = this.record('bot.subscribe');
    if (this.loggingIn) {
      const fe = new FirewallError('BOT_NOT_SUBSCRIBED', 'wait for the answer to aibot_subscribe');
      this.send(refusalText(reqId, fe, this.channel.redact, record.request_id));
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
      if (bot && sameSecret(bot.secret, secret)) this.channel.leaked(bot, record);
      if (!bot || !sameSecret(bot.clientSecret, secret)) throw new FirewallError('INVALID_CREDENTIAL', 'unknown bot_id or wrong secret'); // refused here: WeCom is not asked
      const ack = await this.channel.login(this, bot, body);
      if (!ack) {
        record.why = { reason: 'the agent left while WeCom answered the login' };
        return;
      }
      // A reload while WeCom answered may have changed the bot or its client secret: check again.
      const now = this.channel.botById(botId);
      if (!now || now.alias !== bot.alias || !sameSecret(now.clientSecret, secret)) {
        this.channel.detach(this, bot);
        throw new FirewallError('INVALID_CREDENTIAL', 'the bot was reconfigured while logging in');
      }
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
        this.send(ackText(reqId, err.ack.errcode ?? -1, this.channel.redact(err.ack.errmsg ?? 'login refused by WeCom')));
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
      const forward = () => this.channel.forward(bot, frame.cmd, reqId, built.request.bytes);
      if (earlier?.kind === 'parked') {
        outcome = await this.grow(bot, stream!, earlier, built.request, forward);
      } else {
        built.request.counted = earlier?.kind === 'allowed'; // one stream, one message against the limits
        outcome = await this.channel.pipeline(built.request, forward);
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

  /**
   * A later frame of a parked stream. It is judged like any frame: a policy refusing what the stream
   * has become withdraws the parked message (never sent) and refuses the stream; a stricter approval
   * (another rule asks for it) withdraws it and parks the stream anew under that rule. Otherwise the
   * parked record takes this frame's state: approvers see it, and approving needs the sha256 of what
   * was shown (APPROVAL_CHANGED otherwise). Once the record was decided, later frames are refused.
   */
  private async grow(bot: Bot, stream: string, parked: { approvalId: string; requestId: string }, request: Request, forward: () => Promise<UpstreamAnswer>): Promise<Outcome> {
    const { approvals } = this.channel;
    const { record } = request;
    const withdraw = (why: string) => approvals.withdraw(parked.approvalId, this.caller, why);
    let decision;
    try {
      decision = this.channel.pipeline.check(request);
    } catch (err) {
      if (err instanceof FirewallError && POLICY_CODES.has(err.code)) withdraw(`a later frame of the parked stream was refused: ${err.message}`);
      throw err;
    }
    const current = approvals.get(parked.approvalId);
    if (decision.action === 'approve' && current?.status === 'pending' && decision.rule !== current.rule && withdraw(`a later frame of the parked stream needs the approval of rule ${decision.rule}`)) {
      const outcome = await this.channel.pipeline(request, forward);
      if (outcome.kind === 'parked') this.channel.streams(bot).set(stream, { kind: 'parked', approvalId: outcome.approvalId, requestId: outcome.requestId });
      return outcome;
    }
    if (!approvals.revise(parked.approvalId, request.bytes, this.caller)) {
      const status = approvals.get(parked.approvalId)?.status;
      const err = status === 'rejected' ? new FirewallError('APPROVAL_REJECTED', `approval ${parked.approvalId}`) : status === 'expired' ? new FirewallError('APPROVAL_TIMEOUT', `approval ${parked.approvalId} was not decided in time`) : new FirewallError('APPROVAL_DECIDED', `approval ${parked.approvalId} was decided on an earlier frame; later frames are not sent`);
      this.channel.streams(bot).set(stream, { kind: 'refused', error: err });
      throw err;
    }
    record.decision = 'parked';
    record.what = { ...record.what, msgtype: request.msgtype, size: request.bytes.length, approval_id: parked.approvalId };
    record.why = { ...record.why, reason: 'a later frame of a parked stream: the parked message takes its state' };
    return { kind: 'parked', approvalId: parked.approvalId, requestId: parked.requestId };
  }

  private ackOf(reqId: string, outcome: Outcome): string {
    const settled = outcome.kind === 'duplicate' ? outcome.first : outcome;
    if (settled.kind === 'refused') return refusalText(reqId, settled.error, this.channel.redact);
    if (settled.kind === 'forwarded') return this.channel.redact(settled.answer.body.toString()); // WeCom's ack, with the agent's req_id
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
      this.uploads.set(uploadId, { declared: Number(declared.total_size), chunks: Number.isSafeInteger(declared.total_chunks) ? (declared.total_chunks as number) : 100, sizes: new Map() });
    }
  }

  /** A chunk or the finish of an upload whose init was allowed; anything else is refused here. */
  private async uploadPart(frame: Frame, cmd: 'aibot_upload_media_chunk' | 'aibot_upload_media_finish'): Promise<void> {
    const body = isObject(frame.body) ? frame.body : {};
    const uploadId = typeof body.upload_id === 'string' ? body.upload_id : undefined;
    const upload = uploadId === undefined ? undefined : this.uploads.get(uploadId);
    let refusal: string | undefined;
    // Rebuilt from the fields WeCom takes: nothing else the agent wrote goes along.
    let forwarded: object = { upload_id: uploadId };
    if (!upload) refusal = 'unknown upload_id: an upload starts with aibot_upload_media_init on this connection';
    else if (cmd === 'aibot_upload_media_chunk') {
      const data = body.base64_data;
      const index = body.chunk_index;
      if (typeof data !== 'string' || !Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= upload.chunks) {
        refusal = `a chunk needs chunk_index (0 to ${upload.chunks - 1}, as declared at init) and base64_data (a string)`;
      } else {
        upload.sizes.set(index as number, Buffer.byteLength(data, 'base64'));
        if ([...upload.sizes.values()].reduce((a, b) => a + b, 0) > upload.declared) refusal = 'the chunks pass the size declared at aibot_upload_media_init (what the policies judged)';
      }
      forwarded = { upload_id: uploadId, chunk_index: body.chunk_index, base64_data: data };
    }
    if (refusal) {
      if (upload) this.uploads.delete(uploadId!);
      const record = this.record('bot.upload_media');
      const fe = new FirewallError('INVALID_PAYLOAD', refusal);
      this.send(refusalText(frame.headers.req_id, fe, this.channel.redact, record.request_id));
      return this.channel.audit(record, fe);
    }
    if (cmd === 'aibot_upload_media_finish') this.uploads.delete(uploadId!);
    return this.passThrough(frame, cmd === 'aibot_upload_media_chunk' ? 'upload_chunk' : 'upload_finish', JSON.stringify(forwarded));
  }

  /** The agent's heartbeat: relayed without a body, at most one a second (the SDK sends one every 30 s). */
  private async ping(frame: Frame): Promise<void> {
    const now = Date.now();
    if (now - this.lastPing < PING_EVERY_MS) {
      this.channel.count(this.bot!, 'ping_refused');
      return this.send(refusalText(frame.headers.req_id, new FirewallError('RATE_LIMITED', 'at most one ping a second'), this.channel.redact));
    }
    this.lastPing = now;
    return this.passThrough(frame, 'ping');
  }

  /** Frames that are not judged one by one (pings, the parts of an allowed upload): relayed, their acks relayed back, counted. */
  private async passThrough(frame: Frame, kind: string, body?: string): Promise<void> {
    const bot = this.bot!;
    this.channel.count(bot, kind);
    try {
      this.send(this.channel.redact((await this.channel.forward(bot, frame.cmd!, frame.headers.req_id, body)).body.toString()));
    } catch (err) {
      this.send(refusalText(frame.headers.req_id, asFirewallError(err), this.channel.redact));
    }
  }

  /** A frame's audit record, refused until it says otherwise; `started` gives its latency. */
  private record(route: string): AuditRecord & { started: number } {
    return { decision: 'rejected', request_id: randomUUID(), who: this.caller, what: { route, ...(this.bot ? { robot: `bot:${this.bot.alias}` } : {}) }, started: performance.now() };
  }
}
