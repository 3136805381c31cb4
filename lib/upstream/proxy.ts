import type http from 'node:http';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { errcodeOf } from './send.js';
import { basePath } from './agent.js';

// The live forward path: http-proxy streams the upstream's answer back to the agent unchanged
// (status, headers, body), while a tap keeps the first bytes to read WeCom's errcode for the audit.

const TAP_LIMIT = 64 * 1024;

export interface ForwardResult {
  status: number;
  errcode?: number;
}

export class UpstreamProxy {
  private readonly proxy: httpProxy;
  private readonly taps = new WeakMap<http.IncomingMessage, (r: ForwardResult) => void>();

  constructor(private readonly upstream: URL, agent: http.Agent, timeoutMs: number) {
    this.proxy = httpProxy.createProxyServer({ agent, changeOrigin: true, xfwd: false, proxyTimeout: timeoutMs, timeout: timeoutMs });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const done = this.taps.get(req);
      if (!done) return;
      const chunks: Buffer[] = [];
      let size = 0;
      proxyRes.on('data', (c: Buffer) => {
        if (size < TAP_LIMIT) chunks.push(c), (size += c.length);
      });
      proxyRes.on('end', () => done({ status: proxyRes.statusCode ?? 0, errcode: errcodeOf(Buffer.concat(chunks)) }));
    });
  }

  /**
   * Sends `body` to `path` (which carries the real key) and pipes the answer to `res`. The agent's own
   * headers are replaced: WeCom gets only what it needs, nothing the agent or a caller token put there.
   */
  forward(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer, contentType: string): Promise<ForwardResult> {
    return new Promise((resolve, reject) => {
      this.taps.set(req, resolve);
      req.headers = { 'content-type': contentType, 'content-length': String(body.length), accept: 'application/json' };
      this.proxy.web(req, res, { target: `${this.upstream.origin}${basePath(this.upstream)}${path}`, ignorePath: true, buffer: Readable.from([body]) }, (err) => {
        this.taps.delete(req);
        reject(err);
      });
    });
  }

  close(): void {
    this.proxy.close();
  }
}
