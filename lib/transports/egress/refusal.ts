import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { FirewallError } from '../../errors.js';

/**
 * Answers a proxy request on its raw socket (a CONNECT has no ServerResponse) in WeCom's error shape,
 * and closes the connection: a refused CONNECT never becomes a tunnel.
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
  socket.end(`HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n${head}\r\n${body}`);
}

/** Any error as a FirewallError: unknown ones become INTERNAL (their detail stays in our log). */
export function asFirewallError(err: unknown): FirewallError {
  return err instanceof FirewallError ? err : new FirewallError('INTERNAL', undefined, { cause: err });
}
