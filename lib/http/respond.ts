import http from 'node:http';
import type { Duplex } from 'node:stream';
import { FirewallError } from '../errors.js';
import type { Redactor } from '../config/secrets.js';

export function sendJson(res: http.ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Any error as a WeCom-style refusal; unknown errors become a 500 whose details stay in our log. */
export function sendError(res: http.ServerResponse, err: unknown, requestId: string, redactor: Redactor): FirewallError {
  const fe = asFirewallError(err);
  sendJson(res, fe.status, { errcode: fe.errcode, errmsg: redactor.redact(fe.message), request_id: requestId }, fe.headers);
  return fe;
}

/** Any error as a FirewallError: unknown ones become INTERNAL (their detail stays in our log). */
export function asFirewallError(err: unknown): FirewallError {
  return err instanceof FirewallError ? err : new FirewallError('INTERNAL', undefined, { cause: err });
}

/**
 * Answers on a raw socket (a CONNECT or an upgrade has no ServerResponse) in WeCom's error shape, and
 * closes the connection: a refused CONNECT never becomes a tunnel, a refused upgrade never a WebSocket.
 */
export function refuseOnSocket(socket: Duplex, err: FirewallError, requestId: string, redact: (text: string) => string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ errcode: err.errcode, errmsg: redact(err.message), request_id: requestId });
  const headers: Record<string, string | number> = {
    ...err.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    connection: 'close',
  };
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status] ?? 'Error'}\r\n${head}\r\n${body}`);
}
