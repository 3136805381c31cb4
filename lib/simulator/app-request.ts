import type { IncomingHttpHeaders } from 'node:http';
import type { App } from './apps.js';
import { invalid, isRecord, type Verdict } from './shape.js';
import type { SimulatorState } from './state.js';
import type { ParsedBody } from './webhook.js';

// What every app endpoint shares: the request, the answer, and the access_token gate.

export interface AppRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** undefined when the body passed the route's read cap. */
  body: Buffer | undefined;
  now: number;
}

/** media/get's success answer: raw bytes instead of JSON. */
export interface MediaFile {
  bytes: Buffer;
  contentType: string;
  disposition: string;
}

export interface AppResult {
  verdict: Verdict;
  /** Fields added to the JSON answer (on success, or alongside an errcode where WeCom adds them). */
  extra?: Record<string, unknown>;
  file?: MediaFile;
}

export interface AppRoute {
  /** Read cap for the request body. */
  bodyCap: number;
  handle(request: AppRequest, state: SimulatorState): AppResult | Promise<AppResult>;
}

export type Authorized = { app: App; verdict?: undefined } | { app?: undefined; verdict: Verdict };

/**
 * Injected faults first, as a WeCom outage would answer, then the token: missing 41001, unknown
 * 40014, expired or invalidated 42001. The token is in the URL, so it is checked before the method
 * and the body.
 */
export function authorize(request: AppRequest, state: SimulatorState): Authorized {
  const fault = state.faults.take(request.path);
  if (fault !== undefined) return { verdict: { errcode: fault } };
  const checked = state.app.tokens.check(request.query.get('access_token'), request.now);
  return 'app' in checked ? { app: checked.app } : { verdict: { errcode: checked.errcode } };
}

/** WeCom's global error doc: a POST endpoint called with GET finds no body and answers 40058. */
export function requirePost(request: AppRequest): Verdict | undefined {
  return request.method === 'POST' ? undefined : invalid('POST method required');
}

/** The body as an object, or the verdict refusing it. */
export function jsonObject(request: AppRequest, parsed: ParsedBody): { body: Record<string, unknown> } | { verdict: Verdict } {
  const problem = requirePost(request) ?? parsed.problem;
  if (problem) return { verdict: problem };
  return isRecord(parsed.json) ? { body: parsed.json } : { verdict: invalid('Warning: wrong json format') };
}
