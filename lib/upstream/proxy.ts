import type http from 'node:http';
import type { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { errcodeOf } from './send.js';
import { basePath } from './agent.js';
import { relayHeaders } from './relay.js';

// The live forward path. http-proxy sends the checked body upstream over keep-alive sockets; the
// answer (status, headers, body) is relayed to the agent unchanged but for hop-by-hop headers, and
// WeCom's errcode is read from it for the audit. WeCom's answers are small JSON, so they are
// buffered and written in one go; anything past BUFFER_LIMIT is streamed through as it comes.

const BUFFER_LIMIT = 1024 * 1024;

export interface ForwardResult {
  status: number;
  errcode?: number;
}

type Pending = { resolve: (r: ForwardResult) => void; reject: (e: Error) => void };

export class UpstreamProxy {
  private readonly proxy: httpProxy;
  private readonly pending = new WeakMap<http.IncomingMessage, Pending>();
  private readonly base: string;
  private readonly port: string;

  constructor(private readonly upstream: URL, agent: http.Agent, timeoutMs: number) {
    this.base = basePath(upstream);
    this.port = upstream.port || (upstream.protocol === 'https:' ? '443' : '80');
    this.proxy = httpProxy.createProxyServer({ agent, changeOrigin: true, xfwd: false, proxyTimeout: timeoutMs, selfHandleResponse: true });
    this.proxy.on('proxyRes', (proxyRes, req, res) => this.relay(proxyRes, res, this.pending.get(req)));
    // The agent went away mid-request: http-proxy aborts the upstream call and emits this instead of
    // calling the per-request callback, so the forward must be settled here or it is never audited.
    this.proxy.on('econnreset', (err, req) => this.pending.get(req)?.reject(err));
  }

  /**
   * Sends `body` to `path` (which carries the real key) and relays the answer to `res`. The agent's own
   * headers are replaced: WeCom gets only what it needs, nothing the agent or a caller token put there.
   */
  forward(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer, contentType: string): Promise<ForwardResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      req.headers = { 'content-type': contentType, 'content-length': String(body.length), accept: 'application/json' };
      // http-proxy only calls buffer.pipe(proxyReq): hand it the whole body in one write, without
      // building a stream per request.
      const buffer = { pipe: (dest: http.ClientRequest) => dest.end(body) } as unknown as Readable;
      const target = { protocol: this.upstream.protocol, host: this.upstream.host, hostname: this.upstream.hostname, port: this.port, path: this.base + path };
      this.proxy.web(req, res, { target: target as unknown as httpProxy.ProxyTargetUrl, ignorePath: true, buffer }, (err) => reject(err));
    });
  }

  private relay(proxyRes: http.IncomingMessage, res: http.ServerResponse, pending?: Pending): void {
    const status = proxyRes.statusCode ?? 502;
    const headers = relayHeaders(proxyRes.headers);
    const chunks: Buffer[] = [];
    let size = 0;
    let streaming = false;
    proxyRes.on('data', (chunk: Buffer) => {
      if (streaming) return void res.write(chunk);
      chunks.push(chunk);
      size += chunk.length;
      if (size > BUFFER_LIMIT) {
        streaming = true;
        res.writeHead(status, headers);
        for (const c of chunks.splice(0)) res.write(c);
      }
    });
    proxyRes.on('end', () => {
      if (streaming) {
        res.end();
        return pending?.resolve({ status });
      }
      const body = Buffer.concat(chunks, size);
      headers['content-length'] = body.length;
      res.writeHead(status, headers);
      res.end(body);
      pending?.resolve({ status, errcode: errcodeOf(body) });
    });
    proxyRes.on('error', (err) => pending?.reject(err));
  }

  close(): void {
    this.proxy.close();
  }
}
