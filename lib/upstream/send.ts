import http from 'node:http';
import https from 'node:https';
import { basePath } from './agent.js';
import { UpstreamFailure, failureOf, timeoutFailure } from './failure.js';

export interface UpstreamAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** WeCom's errcode, when the answer is JSON carrying one. */
  errcode?: number;
  /** Attempts it took (set by the guard; 1 unless a retry was made). */
  attempts?: number;
  /** Already streamed to the agent (an answer too large to buffer): final, never retried. */
  relayed?: boolean;
}

/** WeCom's largest answer is a media file (≤ 20 MB); anything bigger is refused, not buffered. */
const MAX_ANSWER_BYTES = 24 * 1024 * 1024;

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  /** Path and query on the upstream, credentials included. */
  path: string;
  body?: Buffer;
  contentType?: string;
}

/**
 * ONE buffered request to the upstream (token fetches, app calls, approved messages, cards); the
 * guard decides about retries. Rejects only with an UpstreamFailure, which says whether WeCom may
 * have received the request. `timeoutMs` is the socket's idle time: to connect, then to answer.
 */
export function requestUpstream(upstream: URL, agent: http.Agent, request: UpstreamRequest, timeoutMs: number): Promise<UpstreamAnswer> {
  const send = upstream.protocol === 'https:' ? https.request : http.request;
  const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
  if (request.body) Object.assign(headers, { 'content-type': request.contentType ?? 'application/json', 'content-length': request.body.length });
  return new Promise((resolve, reject) => {
    const req = send(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port || undefined, method: request.method, path: basePath(upstream) + request.path, agent, timeout: timeoutMs, headers },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) return void req.destroy(new UpstreamFailure('bad_answer', true, false, 'upstream answer over the size limit'));
          chunks.push(c);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, errcode: isJson(res.headers) ? errcodeOf(body) : undefined });
        });
        // The answer was cut short: the request had arrived.
        res.on('error', (err) => reject(failureOf(err)));
      },
    );
    req.on('timeout', () => req.destroy(timeoutFailure(req.socket?.connecting ?? true, timeoutMs)));
    req.on('error', (err) => reject(failureOf(err)));
    req.end(request.body);
  });
}

// Only a JSON answer is WeCom speaking; a downloaded file that happens to hold "errcode" is just a file.
const isJson = (headers: http.IncomingHttpHeaders) => /^application\/json/i.test(headers['content-type'] ?? '');

export function errcodeOf(body: Buffer | string): number | undefined {
  try {
    const v = JSON.parse(body.toString()) as { errcode?: unknown };
    return typeof v.errcode === 'number' ? v.errcode : undefined;
  } catch {
    return undefined;
  }
}
