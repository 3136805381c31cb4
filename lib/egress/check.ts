import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ERRORS } from '../errors.js';
import { API_HOST, TLS_PORT } from './hosts.js';

// The probes of `wecom-firewall proxy check`: each is one CONNECT through a running egress listener,
// from the firewall's own host, and comes back as plain data (passed or not, and one line saying
// why). Nothing is ever sent inside a tunnel, so nothing reaches WeCom.

export interface Endpoint {
  host: string;
  port: number;
}

export interface ProbeResult {
  ok: boolean;
  /** What was tried, e.g. "CONNECT 127.0.0.1:443". */
  what: string;
  /** One line: what happened, and for a failure what to look at. */
  detail: string;
}

export const PROBE_TIMEOUT_MS = 10_000;

/** The targets a working egress proxy must refuse: a loopback address, and the cloud metadata address. */
export const MUST_REFUSE = [`127.0.0.1:${TLS_PORT}`, `169.254.169.254:${TLS_PORT}`] as const;

/**
 * Opens and closes one TCP connection to the listener: its local address is the caller's address as
 * the firewall sees it (what `callers:` from must hold). Rejects if nothing listens there.
 */
export function localAddressTowards(proxy: Endpoint, timeoutMs = PROBE_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, proxy.host, () => {
      const local = socket.localAddress;
      socket.destroy();
      if (local) resolve(local);
      else reject(new Error('the connection has no local address'));
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error(`no connection within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    socket.once('error', reject);
  });
}

interface ConnectAnswer {
  status: number;
  /** The errcode of the firewall's JSON answer to a refused CONNECT. */
  errcode?: number;
  /** For a refusal: "403 / 9900025: <errmsg>" (the firewall's one-line reason), or the status line. */
  summary: string;
  socket: net.Socket;
}

/** `CONNECT <authority>` through the proxy; the answer's status and, for a refusal, its reason. */
function connectThrough(proxy: Endpoint, authority: string, authorization: string | undefined, timeoutMs: number): Promise<ConnectAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, proxy.host);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to CONNECT within ${timeoutMs / 1000} s`)));
    socket.once('error', reject);
    socket.once('close', () => {
      onData(Buffer.alloc(0), true); // an answer without Content-Length ends with the connection
      reject(new Error('the proxy closed the connection without an answer'));
    });
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${authorization ? `Proxy-Authorization: ${authorization}\r\n` : ''}\r\n`);
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer, closed = false) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(statusLine.split(' ')[1]) || 0;
      const done = (summary: string, errcode?: number) => {
        socket.off('data', onData);
        socket.pause(); // the TLS client takes over the stream from here
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        socket.on('error', () => socket.destroy());
        socket.setTimeout(0);
        resolve({ status, errcode, summary, socket });
      };
      if (status === 200) {
        done(statusLine);
        const rest = buf.subarray(end + 4);
        if (rest.length) socket.unshift(rest);
        return;
      }
      const length = Number(/^content-length:\s*(\d+)$/im.exec(lines.join('\n'))?.[1] ?? 0);
      const body = buf.subarray(end + 4);
      if (body.length < length && !closed) return;
      const refusal = refusalOf(body.subarray(0, length).toString('utf8'));
      done(refusal ? `${status} / ${refusal.errcode}: ${refusal.errmsg}` : statusLine.trim() || `status ${status}`, refusal?.errcode);
    };
    socket.on('data', onData);
  });
}

/** The firewall's JSON answer to a refused CONNECT; undefined for anything else. */
function refusalOf(body: string): { errcode: number; errmsg: string } | undefined {
  try {
    const { errcode, errmsg } = JSON.parse(body) as { errcode?: unknown; errmsg?: unknown };
    if (typeof errcode === 'number' && typeof errmsg === 'string') return { errcode, errmsg: errmsg.split('\n')[0]! };
  } catch {
    /* not the firewall's JSON */
  }
  return undefined;
}

/** The refusals that judge a target (not the caller): only these prove a tunnel there is refused. */
const TARGET_REFUSED = new Set<number>([ERRORS.EGRESS_HOST_REFUSED.errcode, ERRORS.EGRESS_ADDRESS_REFUSED.errcode]);

const CHAIN_ERRORS = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE']);

/**
 * CONNECT qyapi.weixin.qq.com:443 must be answered 200 and then served, over TLS, a certificate for
 * that host that chains to `ca` (the only trust anchor), with ALPN http/1.1: what a client given
 * NODE_EXTRA_CA_CERTS will accept.
 */
export async function probeInterception(proxy: Endpoint, ca: { pem: string; source: string }, authorization: string | undefined, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const what = `CONNECT ${API_HOST}:${TLS_PORT}`;
  let answer: ConnectAnswer;
  try {
    answer = await connectThrough(proxy, `${API_HOST}:${TLS_PORT}`, authorization, timeoutMs);
  } catch (err) {
    return { ok: false, what, detail: (err as Error).message };
  }
  if (answer.status !== 200) {
    answer.socket.destroy();
    return { ok: false, what, detail: `not intercepted: ${answer.summary}${answer.status === 407 ? ' (the proxy credentials were refused)' : ''}` };
  }
  return new Promise((resolve) => {
    const t = tls.connect({ socket: answer.socket, servername: API_HOST, ca: [ca.pem], ALPNProtocols: ['http/1.1'] });
    const finish = (result: ProbeResult) => {
      t.destroy();
      answer.socket.destroy();
      resolve(result);
    };
    t.setTimeout(timeoutMs, () => finish({ ok: false, what, detail: `tunnel opened, but no TLS handshake within ${timeoutMs / 1000} s` }));
    t.once('secureConnect', () => {
      if (t.alpnProtocol !== 'http/1.1') return finish({ ok: false, what, detail: `TLS without ALPN http/1.1 (got ${t.alpnProtocol || 'none'}): clients such as undici would fail` });
      const leaf = new X509Certificate(t.getPeerX509Certificate()!.raw);
      finish({ ok: true, what, detail: `intercepted: the certificate for ${API_HOST} (valid until ${new Date(leaf.validTo).toISOString()}) chains to the CA, ALPN http/1.1` });
    });
    t.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'error';
      const detail = CHAIN_ERRORS.has(code)
        ? `the certificate served does not chain to the CA in ${ca.source} (${code}): the firewall uses another CA (compare the fingerprints), or something else listens there`
        : code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? `the certificate served is not for ${API_HOST} (${code})`
          : `TLS failed: ${err.message} (${code})`;
      finish({ ok: false, what, detail });
    });
  });
}

/**
 * CONNECT to `authority` must be refused with 403 for its target (9900025 or 9900026): a refusal of
 * the caller (403 / 9900021, 407) proves nothing about the target.
 */
export async function probeRefusal(proxy: Endpoint, authority: string, authorization: string | undefined, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const what = `CONNECT ${authority}`;
  try {
    const answer = await connectThrough(proxy, authority, authorization, timeoutMs);
    answer.socket.destroy();
    if (answer.status === 403 && TARGET_REFUSED.has(answer.errcode!)) return { ok: true, what, detail: `refused: ${answer.summary}` };
    if (answer.status === 200) return { ok: false, what, detail: 'a tunnel was opened: this listener lets callers reach internal addresses (is it the firewall\'s egress proxy?)' };
    const why = answer.status === 407 || answer.errcode === ERRORS.UNKNOWN_CALLER.errcode ? ' (the caller was refused, so the target was never judged)' : answer.errcode === undefined ? ' (not the firewall\'s answer)' : '';
    return { ok: false, what, detail: `expected 403 for the target, got ${answer.summary}${why}` };
  } catch (err) {
    return { ok: false, what, detail: (err as Error).message };
  }
}
