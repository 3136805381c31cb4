import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APP_ROUTES } from './app.js';
import type { AppRequest, AppResult, AppRoute } from './app-request.js';
import { AppState, DEFAULT_TOKEN_TTL_SECONDS } from './app-state.js';
import { readBody } from './body.js';
import { BotHub } from './bot.js';
import { BotState } from './bot-state.js';
import { handleControl } from './control.js';
import { keyDirectory } from './keys.js';
import { weComAnswer } from './reply.js';
import { SEND_PATH, SimulatorState, UPLOAD_PATH } from './state.js';
import type { Simulator, SimulatorOptions, TransportFault } from './types.js';
import { parseJsonBody, send, upload, type WebhookRequest, type WebhookResult } from './webhook.js';

// Read caps. Any valid send body is under 3 MB (a 2 MB image is 2.7 MB of base64); uploads may
// carry 20 MB plus multipart framing. Past a cap the request is refused without buffering more.
const SEND_BODY_CAP = 4 * 1024 * 1024;
const UPLOAD_BODY_CAP = 25 * 1024 * 1024;
const CONTROL_BODY_CAP = 64 * 1024;

const JSON_TYPE = 'application/json; charset=UTF-8';

type Log = (line: string) => void;

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const ratePerMinute = options.ratePerMinute ?? 20;
  if (!Number.isInteger(ratePerMinute) || ratePerMinute < 0) {
    throw new RangeError(`ratePerMinute must be a non-negative integer, got ${ratePerMinute}`);
  }
  const app = new AppState(options.apps, options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS, options.chats);
  const clock = options.clock ?? Date.now;
  const log: Log = options.quiet ? () => {} : (line) => process.stdout.write(`[wecom-sim] ${line}\n`);
  const bots = new BotHub(new BotState(options.bots, options.botRatePerMinute), clock, log);
  const state = new SimulatorState(keyDirectory(options.keys), ratePerMinute, app, bots, clock);
  const server = createServer((req, res) => void serve(req, res, state, log));
  // The bot long connection shares the port, as the WeCom stand-in's one origin.
  server.on('upgrade', (req, socket, head) => bots.upgrade(req, socket, head));
  const port = await listen(server, options.port ?? 0, host);
  let closing: Promise<void> | undefined;
  let reopen: NodeJS.Timeout | undefined;
  // Refusing connections: the listener is closed (so connect() gets ECONNREFUSED) and every open
  // connection dropped, keep-alive ones included; accepting listens again on the same port.
  const acceptConnections = async () => {
    clearTimeout(reopen);
    if (closing || server.listening) return;
    await listen(server, port, host);
  };
  const refuseConnections = async (ms?: number) => {
    clearTimeout(reopen);
    if (server.listening) await shutDown(server, bots);
    if (ms !== undefined && !closing) reopen = setTimeout(() => void acceptConnections().catch((error: unknown) => log(`could not listen again: ${String(error)}`)), ms);
  };
  state.refuse = (ms) => void refuseConnections(ms);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    received: (key) => state.received(key),
    delivered: (key) => state.delivered(key),
    failNext: (count, errcode = -1, path) => state.faults.add(count, errcode, path),
    faultNext: (count, fault, path) => state.faults.addTransport(count, fault, path),
    refuseConnections,
    acceptConnections,
    requestCount: (path) => state.requestCount(path),
    appMessages: () => state.app.messages(),
    adminCalls: () => state.app.adminCalls(),
    tokenRequests: () => state.app.tokenRequests(),
    expireTokens: () => state.app.tokens.expireAll(),
    botCallback: (botId, body, cmd) => bots.callback(botId, body, cmd),
    botFrames: (botId) => bots.state.frames(botId),
    botStreams: (botId) => bots.state.streams(botId),
    subscribes: (botId) => bots.state.subscribes(botId),
    botConnections: (botId) => bots.connections(botId),
    dropBot: (botId, how) => bots.drop(botId, how),
    failNextBot: (count, errcode, cmd) => bots.state.failNext(count, errcode, cmd),
    reset: () => state.reset(),
    close: () => {
      clearTimeout(reopen);
      return (closing ??= server.listening ? shutDown(server, bots) : Promise.resolve());
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function shutDown(server: Server, bots: BotHub): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections(); // fetch keeps connections alive; do not wait for them to idle out
    bots.closeAll(); // upgraded sockets are not HTTP connections: closeAllConnections leaves them open
  });
}

/** Never lets an error escape: a bug answers WeCom's "system busy" rather than crashing. */
async function serve(req: IncomingMessage, res: ServerResponse, state: SimulatorState, log: Log): Promise<void> {
  try {
    await route(req, res, state, log);
  } catch (error) {
    if (req.destroyed && !req.complete) return; // the client went away mid-request: nobody to answer
    log(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
    if (!res.headersSent) writeJson(res, 200, weComAnswer(-1, clientIp(req)));
    else res.destroy();
  }
}

async function route(req: IncomingMessage, res: ServerResponse, state: SimulatorState, log: Log): Promise<void> {
  const { path, query } = splitUrl(req.url ?? '/');
  if (path === SEND_PATH || path === UPLOAD_PATH) {
    state.countRequest(path);
    await robot(path, query, req, res, state, log);
    return;
  }
  const appRoute = APP_ROUTES.get(path);
  if (appRoute) {
    state.countRequest(path);
    await appApi(appRoute, path, query, req, res, state, log);
    return;
  }
  const control = handleControl(req.method ?? 'GET', path, query, await readBody(req, CONTROL_BODY_CAP), state);
  if (!control) return notFound(res);
  if (control.after) res.once('finish', () => setImmediate(control.after!));
  writeJson(res, control.status, control.json, control.headers);
}

async function robot(path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse, state: SimulatorState, log: Log): Promise<void> {
  const isSend = path === SEND_PATH;
  const request: WebhookRequest = {
    method: req.method ?? 'GET',
    key: query.get('key') ?? '',
    query,
    headers: req.headers,
    body: await readBody(req, isSend ? SEND_BODY_CAP : UPLOAD_BODY_CAP),
    now: state.now(),
  };
  const fault = state.faults.takeTransport(path);
  if (fault) {
    const parsed = isSend ? parseJsonBody(request.body) : { json: null, raw: '' };
    state.record({ key: request.key, path, body: parsed.json, raw: parsed.raw, at: request.now, errcode: -1, fault: fault.kind });
    log(`${isSend ? 'send' : 'upload'} key=${request.key ? `${request.key.slice(0, 8)}…` : '(none)'} → injected ${describeFault(fault)}`);
    return transportFault(fault, req, res);
  }
  const result = isSend ? send(request, state) : await upload(request, state);
  const { errcode, detail } = result.verdict;
  state.record({ key: request.key, path, body: result.body, raw: result.raw, at: request.now, errcode });
  log(describe(isSend, request, result));
  writeJson(res, 200, weComAnswer(errcode, clientIp(req), detail, result.extra));
}

async function appApi(
  route: AppRoute,
  path: string,
  query: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
  state: SimulatorState,
  log: Log,
): Promise<void> {
  const request: AppRequest = {
    method: req.method ?? 'GET',
    path,
    query,
    headers: req.headers,
    body: await readBody(req, route.bodyCap),
    now: state.now(),
  };
  const fault = state.faults.takeTransport(path);
  if (fault) {
    log(`${request.method} ${path} → injected ${describeFault(fault)}`);
    return transportFault(fault, req, res);
  }
  const result: AppResult = await route.handle(request, state);
  const { errcode, detail } = result.verdict;
  // Neither the token nor the secret is logged: each is a credential.
  log(`${request.method} ${path} → errcode ${errcode}`);
  if (result.file) writeFile(res, result.file.bytes, result.file.contentType, result.file.disposition);
  else writeJson(res, 200, weComAnswer(errcode, clientIp(req), detail, result.extra));
}

/** What a network or a gateway in front of WeCom does instead of WeCom answering. */
function transportFault(fault: TransportFault, req: IncomingMessage, res: ServerResponse): void {
  switch (fault.kind) {
    case 'stall':
      return; // never answered: the client's timeout, or the simulator closing, ends it
    case 'reset':
      req.socket.destroy();
      return;
    case 'http':
      return writeHtml(res, fault.status, `<html><head><title>${fault.status} ${STATUS_CODES[fault.status] ?? 'Error'}</title></head><body><center><h1>${fault.status} ${STATUS_CODES[fault.status] ?? 'Error'}</h1></center><hr><center>stgw</center></body></html>\n`);
    case 'html':
      return writeHtml(res, 200, '<html><head><title>Sign in to the network</title></head><body><form action="/login"><input name="user"></form></body></html>\n');
  }
}

function describeFault(fault: TransportFault): string {
  return fault.kind === 'http' ? `HTTP ${fault.status}` : fault.kind;
}

function writeHtml(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** One log line; only a key prefix is shown because the key is the robot's only credential. */
function describe(isSend: boolean, request: WebhookRequest, result: WebhookResult): string {
  const key = request.key ? `${request.key.slice(0, 8)}…` : '(none)';
  const what = isSend ? `send msgtype=${msgtypeOf(result.body)}` : `upload type=${request.query.get('type') ?? '(none)'}`;
  return `${what} key=${key} → errcode ${result.verdict.errcode}`;
}

function msgtypeOf(body: unknown): string {
  return typeof body === 'object' && body !== null && 'msgtype' in body ? String(body.msgtype) : '(none)';
}

/** Manual split: `new URL` throws on some request targets, and the simulator must never throw. */
function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const mark = url.indexOf('?');
  return mark === -1 ? { path: url, query: new URLSearchParams() } : { path: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}

function clientIp(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
}

function writeJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** media/get: the raw bytes, as an ordinary HTTP download. */
function writeFile(res: ServerResponse, bytes: Buffer, contentType: string, disposition: string): void {
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': bytes.length,
    'Content-Disposition': disposition,
    'Cache-Control': 'no-cache, must-revalidate',
  });
  res.end(bytes);
}

// WeCom's front end answers paths it does not serve with a bare HTTP 404, not a JSON errcode.
function notFound(res: ServerResponse): void {
  const text = '404 Not Found\n';
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
