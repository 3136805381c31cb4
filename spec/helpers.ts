import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { serve, type RunningServer } from '../lib/http/server.js';
import { packageRoot } from '../lib/paths.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../lib/simulator/index.js';
import type { FirewallConfigInput } from '../lib/config/load.js';
import type { Lookup } from '../lib/egress/addresses.js';

export const ADMIN_SECRET = 'spec-admin-secret-0123456789abcdef0123456789';

export function tempDir(prefix = 'wf-spec-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Stack {
  sim: Simulator;
  server: RunningServer;
  /** The real webhook key of each robot alias. */
  keys: Record<string, string>;
  /** The self-built app "helpdesk": its real corpSecret (firewall and simulator only) and the client secret agents get. */
  app: typeof HELPDESK;
  dataDir: string;
  send(alias: string, body: unknown, init?: { headers?: Record<string, string>; raw?: string | Buffer; method?: string; path?: string }): Promise<Answer>;
  admin(method: string, path: string, token?: string, body?: unknown): Promise<Answer>;
  token(sub: string, options?: { expiresIn?: string; secret?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown> & { errcode?: number; errmsg?: string };
  text: string;
}

export async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let json = {};
  try {
    json = JSON.parse(text) as object;
  } catch {
    /* not JSON: tests assert on status */
  }
  return { status: res.status, headers: res.headers, json, text };
}

export const HELPDESK = {
  corpId: 'ww-spec-corp',
  agentId: 1000002,
  corpSecret: 'real-corp-secret-9f8e7d6c5b4a39281706',
  clientSecret: 'client-secret-for-agents-0a1b2c3d4e5f',
  users: ['zhangsan', 'lisi', 'wangwu'],
};

/**
 * Simulator + real firewall server on ephemeral ports: robots "ops" and "team" (plus any in
 * `config.robots`) and the self-built app "helpdesk".
 */
export async function startStack(config: Partial<FirewallConfigInput> = {}, simOptions: Pick<SimulatorOptions, 'ratePerMinute' | 'bots' | 'botRatePerMinute' | 'clock'> = {}, extra: { env?: NodeJS.ProcessEnv; egressLookup?: Lookup } = {}): Promise<Stack> {
  const aliases = ['ops', 'team', ...Object.keys(config.robots ?? {})];
  const keys: Record<string, string> = Object.fromEntries(aliases.map((a) => [a, randomUUID()]));
  const env: NodeJS.ProcessEnv = { SPEC_ADMIN_SECRET: ADMIN_SECRET, HELPDESK_REAL: HELPDESK.corpSecret, HELPDESK_CLIENT: HELPDESK.clientSecret };
  for (const a of aliases) env[`KEY_${a.replace(/\W/g, '_').toUpperCase()}`] = keys[a];
  Object.assign(env, extra.env); // e.g. caller tokens referenced as ${env:NAME}
  const sim = await startSimulator({
    keys: Object.values(keys),
    apps: [{ corpId: HELPDESK.corpId, corpSecret: HELPDESK.corpSecret, agentId: HELPDESK.agentId, users: HELPDESK.users }],
    quiet: true,
    ...simOptions,
  });
  const dataDir = tempDir();
  const robots: FirewallConfigInput['robots'] = {};
  for (const a of aliases) robots[a] = { ...config.robots?.[a], key: `\${env:KEY_${a.replace(/\W/g, '_').toUpperCase()}}` };
  const server = await serve({
    config: {
      listen: '127.0.0.1:0',
      upstream: sim.url,
      botUpstream: sim.url.replace(/^http/, 'ws'),
      dataDir,
      admin: { listen: '127.0.0.1:0', jwtSecret: '${env:SPEC_ADMIN_SECRET}' },
      approvals: { approvers: ['alice', 'bob'] },
      apps: { helpdesk: { corpId: HELPDESK.corpId, agentId: HELPDESK.agentId, corpSecret: '${env:HELPDESK_REAL}', clientSecret: '${env:HELPDESK_CLIENT}' } },
      ...config,
      robots,
    },
    env,
    egressLookup: extra.egressLookup,
  }).catch(async (err: unknown) => {
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const stack: Stack = {
    sim,
    server,
    keys,
    app: HELPDESK,
    dataDir,
    async send(alias, body, init = {}) {
      const path = init.path ?? '/cgi-bin/webhook/send';
      const res = await fetch(`${server.url}${path}?key=${encodeURIComponent(alias)}`, {
        method: init.method ?? 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: init.method === 'GET' ? undefined : typeof init.raw === 'string' || init.raw === undefined ? (init.raw ?? JSON.stringify(body)) : new Uint8Array(init.raw),
      });
      return answerOf(res);
    },
    async admin(method, path, token, body) {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${server.adminUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return answerOf(res);
    },
    token: (sub, options = {}) => mintToken(sub, options),
    async close() {
      await server.close();
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

export function mintToken(sub: string, options: { expiresIn?: string; secret?: string } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? ADMIN_SECRET));
}

export const text = (content: string, extra: Record<string, unknown> = {}) => ({ msgtype: 'text', text: { content, ...extra } });

type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

/**
 * Waits for a condition instead of sleeping and hoping: polls `check` until it returns something
 * truthy, and returns that. A check that throws counts as "not yet" (a fetch to a server that is
 * starting, reloading or has just dropped an idle keep-alive socket fails; the next one may not).
 * Past `timeoutMs` it fails naming `what` and the last error. The deadline is generous on purpose:
 * a condition that holds returns at once, and a loaded CI machine is slow.
 */
export async function until<T>(what: string, check: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<Truthy<T>> {
  const { timeoutMs = 20_000, intervalMs = 25 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const e = lastError as { cause?: unknown } | undefined;
      const cause = lastError === undefined ? '' : `; last error: ${String(lastError)}${e?.cause ? ` (${String(e.cause)})` : ''}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface CliProcess {
  proc: ChildProcessWithoutNullStreams;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
  /** stdout and stderr so far. */
  output(): string;
  /** For `serve`: waits for its "listening" line; the proxy and admin URLs it printed. */
  listening(): Promise<{ url: string; admin?: string }>;
}

/** Runs the built CLI (`node dist/lib/cli/main.js ...`) as a child process. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const proc = spawn(process.execPath, [join(packageRoot(), 'dist', 'lib', 'cli', 'main.js'), ...args], { env: { ...process.env, ...env } });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // 'close', not 'exit': after 'exit' the last of stdout/stderr may still be on its way.
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  return {
    proc,
    exited,
    output: () => output,
    async listening() {
      while (!/listening/.test(output)) {
        if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode} before listening:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { url: /"proxy":"([^"]+)"/.exec(output)![1]!, admin: /"admin":"(http[^"]+)"/.exec(output)?.[1] };
    },
  };
}

/** Every line of the audit log under `dataDir` (current and rotated files), parsed. */
export function readAuditLines<T = Record<string, unknown>>(dataDir: string): T[] {
  const dir = join(dataDir, 'audit');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as T);
}
