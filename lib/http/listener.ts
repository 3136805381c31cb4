import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Listen, ServerLimits, TlsFiles } from '../config/load.js';

// Binding and stopping the standalone server's listeners: `listen`, the admin listener and the
// egress proxy all get the same limits and the same graceful stop.

/** How long a stopping server lets requests in flight finish before it cuts their connections. */
export const DRAIN_MS = 10_000;

export type Listener = http.Server | https.Server;

/**
 * One listener, plain or TLS, with the limits of `server:`. A client that trickles its headers is cut
 * off headersTimeout after it started (node answers 408 and closes), one that trickles its body
 * requestTimeout after; a TLS handshake gets headersTimeout too. Past maxConnections, new
 * connections are closed at once.
 */
export function listen(handler: http.RequestListener, at: Listen, limits: ServerLimits, tls?: TlsFiles, setup?: (server: Listener) => void): Promise<Listener> {
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
  setup?.(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stops accepting, lets requests in flight finish (up to DRAIN_MS), then closes what is left. */
export function stop(server: Listener): Promise<void> {
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

export function urlOf(server: Listener): string {
  const a = server.address() as AddressInfo;
  return `${server instanceof https.Server ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}
