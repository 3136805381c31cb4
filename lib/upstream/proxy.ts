import type http from 'node:http';
import type { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { errcodeOf, type UpstreamAnswer } from './send.js';
import { basePath } from './agent.js';
import { relayHeaders } from './relay.js';
import { failureOf, timeoutFailure } from './failure.js';
import type { UpstreamGuard } from './guard.js';

// The live forward path. http-proxy sends the checked body upstream over keep-alive sockets; the
// answer is buffered and handed to the guard (guard.ts) BEFORE anything is written to the agent, so
// a "system busy" can be retried with the same bytes and the agent sees one answer. The answer the
// guard settles on is returned for the HTTP transport to relay, with WeCom's errcode read from it
// for the audit. WeCom's answers are small JSON; anything past BUFFER_LIMIT is streamed through
// as it comes, and is then final (it cannot be taken back to retry).

const BUFFER_LIMIT = 1024 * 1024;

/** The agent went away: nothing more is sent for it. */
export class AgentGone extends Error {
  constructor(
    /** false when it left while the firewall waited to retry: then WeCom certainly does not have it. */
    readonly mayHaveArrived: boolean,
    cause?: unknown,
  ) {
    super('the agent disconnected', { cause });
    this.name = 'AgentGone';
  }
}

type Pending = { resolve: (r: UpstreamAnswer) => void; reject: (e: Error) => void; proxyReq?: http.ClientRequest };

export class UpstreamProxy {
  private readonly proxy: httpProxy;
  private readonly pending = new WeakMap<http.IncomingMessage, Pending>();
  private readonly base: string;
  private readonly port: string;

  constructor(private readonly upstream: URL, agent: http.Agent, timeoutMs: number, readonly guard: UpstreamGuard) {
    this.base = basePath(upstream);
    this.port = upstream.port || (upstream.protocol === 'https:' ? '443' : '80');
    // No proxyTimeout: http-proxy's aborts with a bare "socket hang up", and the guard must know
    // whether the request had left (a connect that timed out) or not (an answer that did not come).
    this.proxy = httpProxy.createProxyServer({ agent, changeOrigin: true, xfwd: false, selfHandleResponse: true });
    const onTimeout = function (this: http.ClientRequest) {
      this.destroy(timeoutFailure(this.socket?.connecting ?? true, timeoutMs));
    };
    this.proxy.on('proxyReq', (proxyReq, req) => {
      proxyReq.setTimeout(timeoutMs, onTimeout);
      const pending = this.pending.get(req);
      if (pending) pending.proxyReq = proxyReq;
    });
    this.proxy.on('proxyRes', (proxyRes, req, res) => this.collect(proxyRes, res, this.pending.get(req)));
    // The agent went away mid-request: http-proxy aborts the upstream call and emits this instead of
    // calling the per-request callback, so the forward must be settled here or it is never audited.
    this.proxy.on('econnreset', (err, req) => this.pending.get(req)?.reject(new AgentGone(true, err)));
  }

  /**
   * Sends `body` to `path` (which carries the real key) through the guard and returns the answer it
   * settled on, for the transport to relay (an answer past BUFFER_LIMIT is already streamed to `res`:
   * `relayed`). The agent's own headers are replaced: WeCom gets only what it needs, nothing the
   * agent or a caller token put there. `target` (`robot:<alias>`) is whose 45009 cooldown applies.
   * Throws the guard's UpstreamRefusal, or AgentGone.
   */
  async forward(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer, contentType: string, target?: string): Promise<UpstreamAnswer> {
    req.headers = { 'content-type': contentType, 'content-length': String(body.length), accept: 'application/json' };
    const answer = await this.guard.call({ target }, () => this.attempt(req, res, path, body));
    answer.attempts ??= 1;
    return answer;
  }

  /** One attempt: the answer buffered (or, past BUFFER_LIMIT, already streamed to the agent). */
  private attempt(req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer): Promise<UpstreamAnswer> {
    if (res.destroyed) return Promise.reject(new AgentGone(false));
    return new Promise((resolve, reject) => {
      // The agent hangs up while WeCom has not answered. http-proxy only aborts on the request's
      // 'aborted', which node no longer emits once the body was read in full (as the firewall always
      // reads it): without this, the forward would wait for the upstream timeout.
      const gone = () => {
        const p = this.pending.get(req);
        if (!p) return;
        p.proxyReq?.destroy();
        p.reject(new AgentGone(true));
      };
      const done = () => {
        res.off('close', gone);
        this.pending.delete(req);
      };
      this.pending.set(req, { resolve: (a) => (done(), resolve(a)), reject: (e) => (done(), reject(e)) });
      res.once('close', gone);
      // http-proxy only calls buffer.pipe(proxyReq): hand it the whole body in one write, without
      // building a stream per request.
      const buffer = { pipe: (dest: http.ClientRequest) => dest.end(body) } as unknown as Readable;
      const target = { protocol: this.upstream.protocol, host: this.upstream.host, hostname: this.upstream.hostname, port: this.port, path: this.base + path };
      this.proxy.web(req, res, { target: target as unknown as httpProxy.ProxyTargetUrl, ignorePath: true, buffer }, (err) => this.pending.get(req)?.reject(failureOf(err)));
    });
  }

  private collect(proxyRes: http.IncomingMessage, res: http.ServerResponse, pending?: Pending): void {
    const status = proxyRes.statusCode ?? 502;
    const chunks: Buffer[] = [];
    let size = 0;
    let streaming = false;
    proxyRes.on('data', (chunk: Buffer) => {
      if (streaming) return void res.write(chunk);
      chunks.push(chunk);
      size += chunk.length;
      if (size > BUFFER_LIMIT) {
        streaming = true;
        res.writeHead(status, relayHeaders(proxyRes.headers));
        for (const c of chunks.splice(0)) res.write(c);
      }
    });
    proxyRes.on('end', () => {
      if (streaming) {
        res.end();
        return pending?.resolve({ status, headers: proxyRes.headers, body: EMPTY, relayed: true });
      }
      const body = Buffer.concat(chunks, size);
      pending?.resolve({ status, headers: proxyRes.headers, body, errcode: errcodeOf(body) });
    });
    proxyRes.on('error', (err) => pending?.reject(failureOf(err)));
  }

  close(): void {
    this.proxy.close();
  }
}

const EMPTY = Buffer.alloc(0);
