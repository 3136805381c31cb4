import net from 'node:net';

// GET /readyz: ready when the approval store takes a write and WeCom's host accepts a TCP
// connection (no API call: a probe must not spend a robot's quota), and the circuit toward it is not
// open. The upstream check is cached briefly so a busy prober does not open a connection per probe.

export interface ReadinessDeps {
  storeWritable: () => boolean;
  upstream: URL;
  /** The circuit breaker's state toward WeCom, when there is one. */
  circuitOpen?: () => boolean;
  timeoutMs?: number;
  cacheMs?: number;
}

export interface Readiness {
  ready: boolean;
  checks: { store: 'ok' | 'failed'; upstream: 'ok' | 'unreachable' | 'circuit open' };
}

export function createReadiness(deps: ReadinessDeps): () => Promise<Readiness> {
  const timeoutMs = deps.timeoutMs ?? 2000;
  const cacheMs = deps.cacheMs ?? 5000;
  let cached: { at: number; ok: boolean } | undefined;
  let probing: Promise<boolean> | undefined;
  const port = Number(deps.upstream.port || (deps.upstream.protocol === 'https:' ? 443 : 80));
  const host = deps.upstream.hostname.replace(/^\[|\]$/g, '');

  const connect = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port, timeout: timeoutMs });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    });

  const upstreamReachable = async () => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.ok;
    probing ??= connect().then((ok) => {
      cached = { at: Date.now(), ok };
      probing = undefined;
      return ok;
    });
    return probing;
  };

  // The store probe is a durable write: on an unauthenticated path, at most one per cacheMs.
  let storeChecked: { at: number; ok: boolean } | undefined;
  const storeWritable = () => {
    if (storeChecked && Date.now() - storeChecked.at < cacheMs) return storeChecked.ok;
    let ok: boolean;
    try {
      ok = deps.storeWritable();
    } catch {
      ok = false;
    }
    storeChecked = { at: Date.now(), ok };
    return ok;
  };

  return async () => {
    const store: Readiness['checks']['store'] = storeWritable() ? 'ok' : 'failed';
    const upstream = deps.circuitOpen?.() ? 'circuit open' : (await upstreamReachable()) ? 'ok' : 'unreachable';
    return { ready: store === 'ok' && upstream === 'ok', checks: { store, upstream } };
  };
}
