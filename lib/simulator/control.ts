import { BOT_ROUTES } from './bot-control.js';
import { badRequest, parseJson, type ControlAnswer, type ControlRoute } from './control-json.js';
import { isRecord } from './shape.js';
import type { SimulatorState } from './state.js';

// The /__sim endpoints: the Simulator API over HTTP, for a simulator running in another process.
// They are the simulator's own, so they answer with ordinary HTTP statuses, not WeCom's style.

const ROUTES = new Map<string, ControlRoute>([
  ['/healthz', { method: 'GET', handle: () => ({ status: 200, json: { ok: true } }) }],
  ['/__sim/messages', { method: 'GET', handle: messages }],
  ['/__sim/fail', { method: 'POST', handle: fail }],
  ['/__sim/fault', { method: 'POST', handle: fault }],
  ['/__sim/refuse', { method: 'POST', handle: refuse }],
  ['/__sim/requests', { method: 'GET', handle: requests }],
  ['/__sim/reset', { method: 'POST', handle: reset }],
  ['/__sim/app-messages', { method: 'GET', handle: appMessages }],
  ['/__sim/admin-calls', { method: 'GET', handle: adminCalls }],
  ['/__sim/expire-tokens', { method: 'POST', handle: expireTokens }],
  ...BOT_ROUTES,
]);

/** undefined when `path` is not a control endpoint. */
export function handleControl(method: string, path: string, query: URLSearchParams, body: Buffer | undefined, state: SimulatorState): ControlAnswer | undefined {
  const route = ROUTES.get(path);
  if (!route) return undefined;
  if (method !== route.method) return { status: 405, json: { ok: false, error: 'method not allowed' }, headers: { Allow: route.method } };
  return route.handle(query, body, state);
}

/** `?key=K` filters by key; `&delivered=1` keeps only messages answered errcode 0. */
function messages(query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const key = query.get('key') ?? undefined;
  const delivered = query.get('delivered') === '1';
  return { status: 200, json: { messages: delivered ? state.delivered(key) : state.received(key) } };
}

/** Body `{"count": N, "errcode": -1, "path": "/cgi-bin/message/send"}`; errcode and path are optional. */
function fail(_query: URLSearchParams, body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const request = parseJson(body);
  if (!isRecord(request)) return badRequest('body must be a JSON object {"count": N, "errcode": E, "path": P}');
  const { count, errcode = -1, path } = request;
  if (typeof count !== 'number' || typeof errcode !== 'number') return badRequest('count and errcode must be numbers');
  if (path !== undefined && typeof path !== 'string') return badRequest('path must be a string');
  try {
    state.faults.add(count, errcode, path);
  } catch (error) {
    return badRequest(error instanceof Error ? error.message : String(error));
  }
  return { status: 200, json: { ok: true } };
}

/** Body `{"count": N, "kind": "stall"|"reset"|"html"|"http", "status": 503, "path": P}`; status only for http, path optional. */
function fault(_query: URLSearchParams, body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const request = parseJson(body);
  if (!isRecord(request)) return badRequest('body must be a JSON object {"count": N, "kind": K, "status": S, "path": P}');
  const { count, kind, status, path } = request;
  if (typeof count !== 'number' || typeof kind !== 'string') return badRequest('count must be a number and kind a string');
  if (status !== undefined && typeof status !== 'number') return badRequest('status must be a number');
  if (path !== undefined && typeof path !== 'string') return badRequest('path must be a string');
  try {
    state.faults.addTransport(count, (kind === 'http' ? { kind, status } : { kind }) as Parameters<SimulatorState['faults']['addTransport']>[1], path);
  } catch (error) {
    return badRequest(error instanceof Error ? error.message : String(error));
  }
  return { status: 200, json: { ok: true } };
}

/** Body `{"ms": N}`: connections are refused for N ms (at most a minute), starting once this answer is sent. */
function refuse(_query: URLSearchParams, body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  const request = parseJson(body);
  const ms = isRecord(request) ? request.ms : undefined;
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 60_000) return badRequest('body must be {"ms": N} with N from 1 to 60000');
  return { status: 200, json: { ok: true }, after: () => state.refuse(ms) };
}

/** `?path=P`: how many requests reached that WeCom path (all WeCom paths without it), faulted ones included. */
function requests(query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  return { status: 200, json: { count: state.requestCount(query.get('path') ?? undefined) } };
}

function reset(_query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  state.reset();
  return { status: 200, json: { ok: true } };
}

/** Every message/send and appchat/send request, and how many gettoken calls arrived. */
function appMessages(_query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  return { status: 200, json: { messages: state.app.messages(), tokenRequests: state.app.tokenRequests() } };
}

function adminCalls(_query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  return { status: 200, json: { calls: state.app.adminCalls() } };
}

/** The next call with any token issued so far answers 42001. */
function expireTokens(_query: URLSearchParams, _body: Buffer | undefined, state: SimulatorState): ControlAnswer {
  state.app.tokens.expireAll();
  return { status: 200, json: { ok: true } };
}
