import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';

// A closed-loop load generator on undici, for what autocannon cannot drive: requests inside CONNECT
// tunnels. `connections` workers each send their next request as soon as the last answer is read,
// over a dispatcher that keeps that many connections (or tunnels) alive. The bench measures `listen`
// with the same loop, so the two figures differ by the path alone, not by the client.

export interface LoadResult {
  rps: number;
  /** Milliseconds. */
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoopTarget {
  dispatcher: Dispatcher;
  origin: string;
  path: string;
}

export async function loopLoad(target: LoopTarget, body: () => string, connections: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        const res = await target.dispatcher.request({ origin: target.origin, path: target.path, method: 'POST', headers: { 'content-type': 'application/json' }, body: body() });
        await res.body.text();
        if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p99: latencies[Math.floor(0.99 * (latencies.length - 1))] ?? 0, non2xx, errors };
}
