import type { IncomingHttpHeaders } from 'node:http';
import { decodeUtf8 } from './body.js';
import { checkMessage } from './contract.js';
import { checkUpload, isMediaType } from './media.js';
import { parseMediaPart, type MultipartResult } from './multipart.js';
import { invalid, type Verdict } from './shape.js';
import { SEND_PATH, UPLOAD_PATH, type SimulatorState } from './state.js';

// The two robot endpoints. Both run the same gate first (fault, key, method), then their own rules.

export interface WebhookRequest {
  method: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** undefined when the body passed the read cap. */
  body: Buffer | undefined;
  now: number;
}

export interface WebhookResult {
  verdict: Verdict;
  /** Fields added to a successful answer. */
  extra?: Record<string, unknown>;
  /** What the received log keeps. */
  body: unknown;
  raw: string;
}

// Injected faults come before everything, as a WeCom outage would. The key is part of the URL,
// so a bad one is reported before the method. A non-POST finds no body: WeCom's global error
// doc says such calls answer 40058.
function gate(path: string, request: WebhookRequest, state: SimulatorState): Verdict | undefined {
  const fault = state.faults.take(path);
  if (fault !== undefined) return { errcode: fault };
  if (!state.keyExists(request.key)) return { errcode: 93000 };
  if (request.method !== 'POST') return invalid('POST method required');
  return undefined;
}

// Rate limit: only messages answered errcode 0 count, so refused or throttled attempts neither use
// the quota nor extend a block (whether WeCom counts them is unconfirmed). The limit is checked
// before the content, so a throttled robot gets 45009 whatever it sends.
export function send(request: WebhookRequest, state: SimulatorState): WebhookResult {
  const { key, now } = request;
  const parsed = parseJsonBody(request.body);
  const verdict =
    gate(SEND_PATH, request, state) ??
    (state.rate.isFull(key, now) ? { errcode: 45009 } : undefined) ??
    parsed.problem ??
    checkMessage(parsed.json, (mediaId) => state.media.isValid(key, mediaId, now));
  if (verdict.errcode === 0) state.rate.record(key, now);
  return { verdict, body: parsed.json, raw: parsed.raw };
}

export interface ParsedBody {
  json: unknown;
  raw: string;
  problem?: Verdict;
}

/** A JSON request body; `problem` (40058) when it passed the read cap, is not UTF-8 or is not JSON. */
export function parseJsonBody(body: Buffer | undefined): ParsedBody {
  if (!body) return { json: null, raw: '', problem: invalid('request body exceed max size') };
  const text = decodeUtf8(body);
  if (text === undefined) return { json: null, raw: body.toString('utf8'), problem: invalid('request body is not valid UTF-8') };
  try {
    return { json: JSON.parse(text) as unknown, raw: text };
  } catch {
    return { json: null, raw: text, problem: invalid('Warning: wrong json format') };
  }
}

// upload_media does not count toward the message rate limit.
export async function upload(request: WebhookRequest, state: SimulatorState): Promise<WebhookResult> {
  const type = request.query.get('type');
  const parsed = request.body ? await parseMediaPart(request.headers, request.body) : undefined;
  const media = parsed?.ok ? parsed.media : undefined;
  const logged = { type, filename: media?.filename, size: media?.bytes.length };
  const verdict = gate(UPLOAD_PATH, request, state) ?? uploadVerdict(type, parsed);
  if (verdict.errcode !== 0) return { verdict, body: logged, raw: '' };
  const mediaId = state.media.issue(request.key, request.now);
  const extra = { type, media_id: mediaId, created_at: String(Math.floor(request.now / 1000)) };
  return { verdict, extra, body: logged, raw: '' };
}

// A body past the read cap is larger than any media WeCom accepts: 40006 (invalid file size).
// A body that is not multipart at all is a malformed request (40058); one without a `media` file
// part has no media data (44001).
function uploadVerdict(type: string | null, parsed: MultipartResult | undefined): Verdict {
  if (!isMediaType(type)) return { errcode: 40004, detail: 'type must be file or voice' };
  if (!parsed) return { errcode: 40006 };
  if (!parsed.ok) return invalid('media must be sent as multipart/form-data');
  if (!parsed.media) return { errcode: 44001 };
  return checkUpload(type, parsed.media.bytes);
}
