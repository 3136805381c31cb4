import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

// A bare proxy client for the egress specs: the CONNECT line, the TLS handshake and the requests
// inside written by hand, so each wire detail (status line, SNI, Host, keep-alive) can be set and seen.

export interface ConnectAnswer {
  status: number;
  /** The whole status line, e.g. "HTTP/1.1 200 Connection Established". */
  statusLine: string;
  headers: Record<string, string>;
  body: string;
  socket: net.Socket;
}

/** Sends `CONNECT <authority>` to the proxy and reads its answer (and, for a refusal, its body). */
export function connect(proxyUrl: string, authority: string, headers: Record<string, string> = {}): Promise<ConnectAnswer> {
  const proxy = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(proxy.port), proxy.hostname);
    socket.once('error', reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const hdrs = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const status = Number(statusLine.split(' ')[1]);
      const rest = buf.subarray(end + 4);
      if (status === 200) {
        socket.off('data', onData);
        socket.off('error', reject);
        if (rest.length) socket.unshift(rest);
        return resolve({ status, statusLine, headers: hdrs, body: '', socket });
      }
      const length = Number(hdrs['content-length'] ?? 0);
      if (rest.length < length) return;
      socket.off('data', onData);
      resolve({ status, statusLine, headers: hdrs, body: rest.subarray(0, length).toString('utf8'), socket });
    };
    socket.on('data', onData);
  });
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** TLS over an open tunnel, as a client that trusts `ca` and names `servername`. */
export function handshake(socket: net.Socket, servername: string, ca?: string, alpn: string[] = ['http/1.1']): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, servername, ca, ALPNProtocols: alpn }, () => resolve(t));
    t.once('error', (err) => {
      socket.destroy(); // as real clients do: a failed handshake closes the connection
      reject(err);
    });
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown> & { errcode?: number; errmsg?: string };
}

/**
 * An http.Agent that hands out one connection, `socket` (a TLS tunnel), and keeps it alive, so
 * several requests in a row travel in that one tunnel.
 */
export function agentOver(socket: net.Socket): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => net.Socket }).createConnection = () => socket;
  return agent;
}

export function request(agent: http.Agent | undefined, options: { method?: string; path: string; host?: string; headers?: Record<string, string>; body?: unknown; port?: number; hostname?: string }): Promise<Reply> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        hostname: options.hostname ?? 'qyapi.weixin.qq.com',
        port: options.port,
        method: options.method ?? (body ? 'POST' : 'GET'),
        path: options.path,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), host: options.host ?? 'qyapi.weixin.qq.com', ...options.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json = {};
          try {
            json = JSON.parse(text) as object;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}
