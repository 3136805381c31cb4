import http from 'node:http';
import https from 'node:https';
import { basePath } from './agent.js';

export interface UpstreamAnswer {
  status: number;
  body: Buffer;
  /** WeCom's errcode, when the answer is JSON carrying one. */
  errcode?: number;
}

/** A single POST to the upstream, for messages that left the live request (approved ones). */
export function postUpstream(
  upstream: URL,
  agent: http.Agent,
  path: string,
  body: Buffer,
  contentType: string,
  timeoutMs: number,
): Promise<UpstreamAnswer> {
  const request = upstream.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port || undefined,
        method: 'POST',
        path: basePath(upstream) + path,
        agent,
        timeout: timeoutMs,
        headers: { 'content-type': contentType, 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body: buf, errcode: errcodeOf(buf) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('upstream timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export function errcodeOf(body: Buffer | string): number | undefined {
  try {
    const v = JSON.parse(body.toString()) as { errcode?: unknown };
    return typeof v.errcode === 'number' ? v.errcode : undefined;
  } catch {
    return undefined;
  }
}
