import type http from 'node:http';
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
  const fe = err instanceof FirewallError ? err : new FirewallError('INTERNAL', undefined, { cause: err });
  sendJson(res, fe.status, { errcode: fe.errcode, errmsg: redactor.redact(fe.message), request_id: requestId }, fe.headers);
  return fe;
}
