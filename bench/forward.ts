// npm run bench: forward-path throughput and p99 of the firewall (shipped policies, audit on) against
// http-proxy alone, both in front of the same simulator, under the same autocannon load, runs
// alternated. Three processes: simulator, proxies (one under load at a time), load generator.
// Then the egress path: the same firewall reached through its egress proxy, keep-alive requests inside
// CONNECT tunnels (TLS with the firewall's CA), against the same firewall on `listen`. autocannon cannot
// CONNECT, so both of these are driven by one undici loop (bench/loop-load.ts): their ratio compares
// the paths, not two clients.
//   BENCH_SECONDS (default 10), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 16)
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import httpProxy from 'http-proxy';
import { Pool, ProxyAgent } from 'undici';
import { serve } from '../lib/http/server.js';
import { startSimulator } from '../lib/simulator/index.js';
import { caFiles } from '../lib/egress/ca.js';
import { loopLoad, type LoadResult, type LoopTarget } from './loop-load.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
// Each request is a different message of the same size (a counter in it): the same bytes again would
// be answered from the firewall's dedupe memory, which is not the forward path this measures.
let sequence = 0;
const body = () => JSON.stringify({ msgtype: 'markdown', markdown: { content: `**deploy ${String(sequence++).padStart(10, '0')}** finished on <font color="info">prod</font>: ${'变更说明 '.repeat(40)}` } });
const request: autocannon.Request = { method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: body() }) };

async function role(name: string, arg?: string): Promise<void> {
  if (name === 'sim') {
    const sim = await startSimulator({ ratePerMinute: 0, quiet: true });
    process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
    return;
  }
  // proxies: http-proxy alone, and the firewall, in one process (only one is loaded at a time)
  const upstream = arg!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const proxy = httpProxy.createProxyServer({ target: upstream, agent, changeOrigin: true });
  proxy.on('error', (_e, _req, res) => (res as http.ServerResponse).writeHead(502).end());
  const bare = http.createServer((req, res) => proxy.web(req, res));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const dataDir = mkdtempSync(join(tmpdir(), 'wf-bench-'));
  const key = process.env.BENCH_KEY!;
  const fw = await serve({ config: { listen: '127.0.0.1:0', upstream, dataDir, robots: { bench: { key: '${env:BENCH_KEY}', limit: '1000000/s' } }, audit: { enabled: true }, egress: { listen: '127.0.0.1:0' }, dedupe: { enabled: process.env.BENCH_DEDUPE !== '0' }, logLevel: 'error' }, env: { BENCH_KEY: key } });
  process.on('SIGTERM', () => void fw.close().then(() => (rmSync(dataDir, { recursive: true, force: true }), process.exit(0))));
  process.stdout.write(`${JSON.stringify({ bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}`, firewall: fw.url, egress: fw.egressUrl!, ca: caFiles(dataDir).cert })}\n`);
}

function child(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ info: Record<string, string>; stop: () => void }> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.once('data', (d: Buffer) => resolve({ info: JSON.parse(d.toString()) as Record<string, string>, stop: () => proc.kill('SIGTERM') }));
    proc.once('exit', (code) => reject(new Error(`bench child ${args[1]} exited ${code}`)));
  });
}

async function load(url: string): Promise<LoadResult> {
  const r = await autocannon({ url, requests: [request], connections: CONNECTIONS, duration: SECONDS });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const key = randomUUID();
  const sim = await child(['--role', 'sim']);
  const proxies = await child(['--role', 'proxies', sim.info.url!], { BENCH_KEY: key });
  const path = '/cgi-bin/webhook/send?key=bench';
  // The undici contenders: the firewall on listen, and through its egress proxy to WeCom's real URL
  // (the CONNECT goes to the firewall, which terminates TLS with its CA and forwards to the simulator).
  const listenPool = new Pool(proxies.info.firewall!, { connections: CONNECTIONS });
  const tunnels = new ProxyAgent({ uri: proxies.info.egress!, connections: CONNECTIONS, requestTls: { ca: [readFileSync(proxies.info.ca!, 'utf8')], servername: 'qyapi.weixin.qq.com' } });
  const loops: Record<string, LoopTarget> = {
    'listen (undici)': { dispatcher: listenPool, origin: proxies.info.firewall!, path },
    'egress (undici)': { dispatcher: tunnels, origin: 'https://qyapi.weixin.qq.com', path },
  };
  const contenders: Record<string, (seconds: number) => Promise<LoadResult>> = {
    'http-proxy alone': () => load(`${proxies.info.bare}/cgi-bin/webhook/send?key=${key}`),
    'wecom-firewall': () => load(`${proxies.info.firewall}${path}`),
    ...Object.fromEntries(Object.entries(loops).map(([name, target]) => [name, (seconds: number) => loopLoad(target, body, CONNECTIONS, seconds)])),
  };
  const results: Record<string, LoadResult[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  try {
    for (const url of [`${proxies.info.bare}/cgi-bin/webhook/send?key=${key}`, `${proxies.info.firewall}${path}`]) await autocannon({ url, requests: [request], connections: CONNECTIONS, duration: 2 }); // warm up
    for (const target of Object.values(loops)) await loopLoad(target, body, CONNECTIONS, 2);
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? Object.entries(contenders) : Object.entries(contenders).reverse();
      for (const [name, run] of order) {
        const r = await run(SECONDS);
        results[name]!.push(r);
        process.stdout.write(`round ${round} ${name.padEnd(17)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${(Number.isInteger(r.p99) ? String(r.p99) : r.p99.toFixed(1)).padStart(4)} ms  non-2xx ${r.non2xx}  errors ${r.errors}\n`);
      }
    }
  } finally {
    await Promise.all([listenPool.close(), tunnels.close()]);
    proxies.stop();
    sim.stop();
  }
  if (Object.values(results).flat().some((r) => r.non2xx || r.errors)) throw new Error('some requests failed: the figures are not comparable');
  const rps = (name: string) => median(results[name]!.map((r) => r.rps));
  const p99 = (name: string) => median(results[name]!.map((r) => r.p99));
  const ms = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  process.stdout.write(
    `\nmedian of ${ROUNDS} rounds × ${SECONDS}s, ${CONNECTIONS} connections, ${Buffer.byteLength(body())}-byte markdown message\n` +
      `http-proxy alone  ${rps('http-proxy alone').toFixed(0)} req/s  p99 ${p99('http-proxy alone')} ms\n` +
      `wecom-firewall    ${rps('wecom-firewall').toFixed(0)} req/s  p99 ${p99('wecom-firewall')} ms\n` +
      `throughput ratio  ${(rps('wecom-firewall') / rps('http-proxy alone')).toFixed(2)} (target ≥ 0.80)\n` +
      `\negress proxy: keep-alive requests in ${CONNECTIONS} CONNECT tunnels vs ${CONNECTIONS} connections to listen, same undici client\n` +
      `listen (undici)   ${rps('listen (undici)').toFixed(0)} req/s  p99 ${ms(p99('listen (undici)'))} ms\n` +
      `egress (undici)   ${rps('egress (undici)').toFixed(0)} req/s  p99 ${ms(p99('egress (undici)'))} ms\n` +
      `egress / listen   throughput ${(rps('egress (undici)') / rps('listen (undici)')).toFixed(2)}, p99 ${(p99('egress (undici)') / p99('listen (undici)')).toFixed(2)}\n`,
  );
}

const i = process.argv.indexOf('--role');
if (i > 0) void role(process.argv[i + 1]!, process.argv[i + 2]);
else main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
