import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createFirewall, type Firewall, type FirewallOptions } from '../firewall.js';
import type { Listen, ServerLimits, TlsFiles } from '../config/load.js';
import { sendJson } from './respond.js';
import { ERRORS } from '../errors.js';

const { NOT_READY } = ERRORS;

export interface RunningServer {
  firewall: Firewall;
  /** e.g. http://127.0.0.1:8080 (https:// with `tls:`) */
  url: string;
  adminUrl?: string;
  close(): Promise<void>;
}

/** How long a stopping server lets requests in flight finish before it cuts their connections. */
const DRAIN_MS = 10_000;

/**
 * The standalone server: the firewall plus /healthz and /readyz on `listen`, the admin API and
 * console on `admin.listen`.
 */
export async function serve(options: FirewallOptions): Promise<RunningServer> {
  const firewall = createFirewall(options);
  // The proxy listener is plain node:http: the firewall handler needs no router, and the forward
  // path is measured against http-proxy alone (bench/). Express serves the admin API and embedders.
  const app: http.RequestListener = (req, res) => {
    const probe = req.method === 'GET' || req.method === 'HEAD' ? req.url : undefined;
    if (probe === '/healthz') {
      const ok = firewall.healthy();
      sendJson(res, ok ? 200 : 503, { ok, errcode: ok ? 0 : 9900005, errmsg: ok ? 'ok' : 'approval store or audit log unavailable' });
    } else if (probe === '/readyz') {
      firewall.ready().then(
        (r) => sendJson(res, r.ready ? 200 : NOT_READY.status, { ok: r.ready, errcode: r.ready ? 0 : NOT_READY.errcode, errmsg: r.ready ? 'ok' : NOT_READY.message, checks: r.checks }),
        () => sendJson(res, NOT_READY.status, { ok: false, errcode: NOT_READY.errcode, errmsg: NOT_READY.message }),
      );
    } else firewall(req, res);
  };

  const servers: Listener[] = [];
  const { config } = firewall;
  try {
    const proxyServer = await listen(app, config.listen, config.server, config.tls);
    servers.push(proxyServer);
    const adminServer = firewall.admin && config.admin ? await listen(firewall.admin, config.admin.listen, config.server, config.admin.tls) : undefined;
    if (adminServer) servers.push(adminServer);
    return {
      firewall,
      url: urlOf(proxyServer),
      adminUrl: adminServer && urlOf(adminServer),
      close: async () => {
        // Stop accepting first, then answer held requests (503), so the drain does not wait on them.
        const stopping = Promise.all(servers.map(stop));
        await firewall.settleHolds();
        await stopping;
        await firewall.close();
      },
    };
  } catch (err) {
    await Promise.all(servers.map(stop));
    await firewall.close();
    throw err;
  }
}

type Listener = http.Server | https.Server;

/**
 * One listener, plain or TLS, with the limits of `server:`. A client that trickles its headers is cut
 * off headersTimeout after it started (node answers 408 and closes), one that trickles its body
 * requestTimeout after; a TLS handshake gets headersTimeout too. Past maxConnections, new
 * connections are closed at once.
 */
function listen(handler: http.RequestListener, at: Listen, limits: ServerLimits, tls?: TlsFiles): Promise<Listener> {
  const options: http.ServerOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderSize,
    // Node enforces both timeouts by sweeping connections on this interval (30 s by default, which
    // would let a 15 s headersTimeout run to 45 s): sweep often enough that they hold.
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
  };
  const server: Listener = tls ? https.createServer({ ...options, cert: tls.cert, key: tls.key, handshakeTimeout: limits.headersTimeoutMs }, handler) : http.createServer(options, handler);
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops accepting, lets requests in flight finish (up to DRAIN_MS), then closes what is left. */
function stop(server: Listener): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
    // A keep-alive connection whose answer finishes while we stop would otherwise stay open until its
    // keepAliveTimeout: close connections as they fall idle.
    const sweep = setInterval(() => server.closeIdleConnections(), 50).unref();
    server.close(() => {
      clearTimeout(cut);
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function urlOf(server: Listener): string {
  const a = server.address() as AddressInfo;
  return `${server instanceof https.Server ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
