// npm run bench: forward-path throughput and p99 of the firewall (shipped policies, audit on) against
// http-proxy alone, both in front of the same simulator, under the same autocannon load, runs
// alternated. Three processes: simulator, proxies (one under load at a time), load generator.
//   BENCH_SECONDS (default 10), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 16)
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import httpProxy from 'http-proxy';
import { serve } from '../lib/http/server.js';
import { startSimulator } from '../lib/simulator/index.js';

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
  const fw = await serve({ config: { listen: '127.0.0.1:0', upstream, dataDir, robots: { bench: { key: '${env:BENCH_KEY}', limit: '1000000/s' } }, audit: { enabled: true }, dedupe: { enabled: process.env.BENCH_DEDUPE !== '0' }, logLevel: 'error' }, env: { BENCH_KEY: key } });
  process.on('SIGTERM', () => void fw.close().then(() => (rmSync(dataDir, { recursive: true, force: true }), process.exit(0))));
  process.stdout.write(`${JSON.stringify({ bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}`, firewall: fw.url })}\n`);
}

function child(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ info: Record<string, string>; stop: () => void }> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.once('data', (d: Buffer) => resolve({ info: JSON.parse(d.toString()) as Record<string, string>, stop: () => proc.kill('SIGTERM') }));
    proc.once('exit', (code) => reject(new Error(`bench child ${args[1]} exited ${code}`)));
  });
}

async function load(url: string): Promise<{ rps: number; p99: number; non2xx: number; errors: number }> {
  const r = await autocannon({ url, requests: [request], connections: CONNECTIONS, duration: SECONDS });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const key = randomUUID();
  const sim = await child(['--role', 'sim']);
  const proxies = await child(['--role', 'proxies', sim.info.url!], { BENCH_KEY: key });
  const targets = {
    'http-proxy alone': `${proxies.info.bare}/cgi-bin/webhook/send?key=${key}`,
    'wecom-firewall': `${proxies.info.firewall}/cgi-bin/webhook/send?key=bench`,
  };
  const results: Record<string, Array<Awaited<ReturnType<typeof load>>>> = { 'http-proxy alone': [], 'wecom-firewall': [] };
  try {
    for (const url of Object.values(targets)) await autocannon({ url, requests: [request], connections: CONNECTIONS, duration: 2 }); // warm up
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? Object.entries(targets) : Object.entries(targets).reverse();
      for (const [name, url] of order) {
        const r = await load(url);
        results[name]!.push(r);
        process.stdout.write(`round ${round} ${name.padEnd(17)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${String(r.p99).padStart(4)} ms  non-2xx ${r.non2xx}  errors ${r.errors}\n`);
      }
    }
  } finally {
    proxies.stop();
    sim.stop();
  }
  const bare = results['http-proxy alone']!;
  const fw = results['wecom-firewall']!;
  if ([...bare, ...fw].some((r) => r.non2xx || r.errors)) throw new Error('some requests failed: the figures are not comparable');
  const ratio = median(fw.map((r) => r.rps)) / median(bare.map((r) => r.rps));
  process.stdout.write(
    `\nmedian of ${ROUNDS} rounds × ${SECONDS}s, ${CONNECTIONS} connections, ${Buffer.byteLength(body())}-byte markdown message\n` +
      `http-proxy alone  ${median(bare.map((r) => r.rps)).toFixed(0)} req/s  p99 ${median(bare.map((r) => r.p99))} ms\n` +
      `wecom-firewall    ${median(fw.map((r) => r.rps)).toFixed(0)} req/s  p99 ${median(fw.map((r) => r.p99))} ms\n` +
      `throughput ratio  ${ratio.toFixed(2)} (target ≥ 0.80)\n`,
  );
}

const i = process.argv.indexOf('--role');
if (i > 0) void role(process.argv[i + 1]!, process.argv[i + 2]);
else main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
