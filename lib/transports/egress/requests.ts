import type http from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { API_HOST, BOT_HOST, normalizeHost } from '../../egress/hosts.js';
import { parseProxyAuthorization, presentOn } from '../../callers/proxied.js';
import { CallerRefused } from '../../callers/identify.js';
import { peerOf } from '../../callers/cidr.js';
import { FirewallError } from '../../errors.js';
import { asFirewallError, refuseOnSocket, sendError } from '../../http/respond.js';
import { audit, egressRecord, type EgressContext } from './context.js';
import { tunnelOf, type Tunnel } from './intercept.js';

// HTTP requests on the egress listener: those inside an intercepted tunnel, and absolute-form ones
// (`POST https://qyapi.weixin.qq.com/cgi-bin/...`, what older axios sends to HTTPS_PROXY). Either way,
// the request is made to look as it would on `listen` (origin-form URL, WeCom's Host, no proxy
// headers, the caller bound to it) and handed to the firewall's handler, which decides everything.

export function onRequest(ctx: EgressContext): http.RequestListener {
  return (req, res) => {
    const tunnel = tunnelOf(req.socket as Socket);
    if (tunnel) inTunnel(ctx, tunnel, req, res);
    else absoluteForm(ctx, req, res);
  };
}

function inTunnel(ctx: EgressContext, tunnel: Tunnel, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (tunnel.host === BOT_HOST) return refuse(ctx, req, res, tunnel.caller, tunnel.host, new FirewallError('UNKNOWN_PATH', `${BOT_HOST} serves only the bot WebSocket`));
  // Only the CONNECT host is ever dialled; a request naming another one would be judged as one host and meant for another.
  const host = hostOf(req.headers.host);
  if (host !== tunnel.host) return refuse(ctx, req, res, tunnel.caller, tunnel.host, new FirewallError('MISDIRECTED_REQUEST', `${(req.headers.host ?? '(none)').slice(0, 255)} inside a tunnel to ${tunnel.host}`));
  ctx.firewall(req, res);
}

function absoluteForm(ctx: EgressContext, req: http.IncomingMessage, res: http.ServerResponse): void {
  const peer = peerOf(req.socket as Socket);
  const url = /^https?:\/\//i.test(req.url ?? '') ? safeUrl(req.url!) : undefined;
  const host = url && normalizeHost(url.hostname);
  let who = `unknown:${peer?.text ?? 'unknown'}`;
  try {
    if (!peer) throw new CallerRefused('UNKNOWN_CALLER', who, 'the connection has no peer address');
    const presented = { address: peer, credentials: parseProxyAuthorization(req.headers['proxy-authorization']) };
    who = ctx.firewall.config.callers.identifyProxied(presented, true);
    if (!url) throw new FirewallError('NOT_A_PROXY_REQUEST');
    if (host === BOT_HOST) throw new FirewallError('UNKNOWN_PATH', `${BOT_HOST} serves only the bot WebSocket, through a CONNECT tunnel`);
    if (host !== API_HOST || (url.port && url.port !== (url.protocol === 'https:' ? '443' : '80'))) {
      throw new FirewallError('EGRESS_HOST_REFUSED', `${url.host} is not WeCom's API host; absolute-form requests go to ${API_HOST} only`);
    }
    // As on listen: the path and query WeCom would get, its Host, and no proxy headers (hop-by-hop).
    req.url = `${url.pathname}${url.search}`;
    req.headers.host = API_HOST;
    delete req.headers['proxy-authorization'];
    delete req.headers['proxy-connection'];
    presentOn(req, presented);
  } catch (err) {
    // Only a parsed host is recorded: an origin-form URL may carry a key.
    return refuse(ctx, req, res, err instanceof CallerRefused ? err.who : who, host, asFirewallError(err), err instanceof CallerRefused ? err.reason : undefined);
  }
  ctx.firewall(req, res);
}

/**
 * Upgrades: inside a tunnel to WeCom's bot host, the bot WebSocket (the firewall's bot channel, which
 * identifies the caller by what it presented on the CONNECT); anywhere else refused: WeCom's API has none.
 */
export function onUpgrade(ctx: EgressContext) {
  return (req: http.IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const tunnel = tunnelOf(socket);
    if (tunnel?.host === BOT_HOST && hostOf(req.headers.host) === BOT_HOST) return ctx.firewall.upgrade(req, socket, head);
    const err = !tunnel ? new FirewallError('NOT_A_PROXY_REQUEST', 'an upgrade outside a tunnel') : tunnel.host === BOT_HOST ? new FirewallError('MISDIRECTED_REQUEST', `${(req.headers.host ?? '(none)').slice(0, 255)} inside a tunnel to ${tunnel.host}`) : new FirewallError('UNKNOWN_PATH', "WeCom's API has no WebSocket");
    const record = egressRecord('egress.request', randomUUID(), tunnel?.caller ?? `unknown:${peerOf(socket)?.text ?? 'unknown'}`, tunnel?.host);
    refuseOnSocket(socket, err, record.request_id, (t) => ctx.firewall.config.redactor.redact(t));
    audit(ctx, record, { error: err });
  };
}

function refuse(ctx: EgressContext, req: http.IncomingMessage, res: http.ServerResponse, who: string, host: string | undefined, err: FirewallError, reason?: string): void {
  const record = egressRecord('egress.request', randomUUID(), who, host);
  res.setHeader('x-request-id', record.request_id);
  req.resume(); // the body is not read: drain it so the connection can answer
  sendError(res, err, record.request_id, ctx.firewall.config.redactor);
  audit(ctx, record, { error: err, reason });
}

/** The Host header's host, normalised, without WeCom's default port; undefined for another port. */
function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^([^:]+)(?::(\d+))?$/.exec(header.trim());
  if (!m || (m[2] !== undefined && m[2] !== '443')) return undefined;
  return normalizeHost(m[1]!);
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
