import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, afterEach, before } from 'node:test';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_SECRET, HELPDESK, startStack, type Stack } from '../helpers.js';

// What every fuzz spec shares: run counts and seeds, the stack they run against, a raw HTTP client
// (fetch normalises paths and refuses odd headers), and the checks every answer must pass.

/**
 * fast-check parameters for the properties of one spec file: `const params = fuzzParams(import.meta.url)`.
 *
 * Under `npm test` every property of a file runs on one fixed seed derived from the file's name
 * (different files, different seeds), so a run is the same run on every machine and a red suite is
 * a finding, not bad luck. `npm run fuzz` sets FUZZ_RANDOM=1: a random seed per file and run. The
 * seed is printed once per file (`fuzz seed app.test: N`); fast-check prints seed and path of a
 * failure. FUZZ_SEED (and FUZZ_PATH, from a failure report) replay one; FUZZ_RUNS overrides every
 * property's run count.
 */
export function fuzzParams(specUrl: string): <T>(defaultRuns: number) => fc.Parameters<T> {
  const file = basename(fileURLToPath(specUrl)).replace(/\.[cm]?[jt]s$/, '');
  const { FUZZ_SEED, FUZZ_RANDOM, FUZZ_PATH, FUZZ_RUNS, FUZZ_VERBOSE } = process.env;
  if (FUZZ_SEED !== undefined && !/^-?\d+$/.test(FUZZ_SEED)) throw new Error(`FUZZ_SEED must be an integer (a seed fast-check printed), not ${JSON.stringify(FUZZ_SEED)}`);
  if (FUZZ_RUNS !== undefined && !/^\d+$/.test(FUZZ_RUNS)) throw new Error(`FUZZ_RUNS must be a whole number, not ${JSON.stringify(FUZZ_RUNS)}`);
  const random = FUZZ_RANDOM !== undefined && FUZZ_RANDOM !== '' && FUZZ_RANDOM !== '0';
  const [seed, how] = FUZZ_SEED !== undefined ? [Number(FUZZ_SEED), 'FUZZ_SEED'] : random ? [randomInt(2 ** 31), 'random, FUZZ_RANDOM'] : [fileSeed(file), 'fixed'];
  console.log(`fuzz seed ${file}: ${seed} (${how}; replay with FUZZ_SEED=${seed})`);
  return <T>(defaultRuns: number) => {
    const p: fc.Parameters<T> = { seed, numRuns: FUZZ_RUNS ? Number(FUZZ_RUNS) : defaultRuns, includeErrorInReport: true };
    if (FUZZ_PATH) p.path = FUZZ_PATH;
    if (FUZZ_VERBOSE) p.verbose = 2;
    return p;
  };
}

/** A spec file's fixed seed: the FNV-1a hash of its name ("app.test"), 31 bits. */
export function fileSeed(file: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(file, 'utf8')) h = Math.imul(h ^ byte, 0x01000193);
  return (h >>> 0) & 0x7fffffff;
}

export interface FuzzStack extends Stack {
  /** Strings that must never appear in an answer, a header, a file under dataDir or the operational log. */
  secrets: string[];
  /** A token the firewall minted for the helpdesk app (legitimately in gettoken answers only). */
  minted: string;
  /** WeCom's (the simulator's) real access token, which only the firewall holds. */
  realToken: string;
}

/**
 * The spec stack with limits that do not get in the fuzzer's way: robots, app and simulator
 * unthrottled, approvals unbounded, and a 64 KiB body/upload limit so the size checks are reached
 * cheaply; no reload on policy edits. The app has a minted token and the firewall has fetched the
 * real one.
 */
/**
 * The hooks every fuzz suite has: a fuzz stack started before, checked healthy after every property,
 * and after all: tallies printed, the files under dataDir checked clean (of the secrets, and of
 * `forbidden`), the stack closed. `ready` receives the stack.
 */
export function useFuzzStack(ready: (stack: FuzzStack) => void, options: { forbidden?: Iterable<string>; checkFiles?: boolean } = {}): void {
  let stack: FuzzStack;
  before(async () => {
    stack = await startFuzzStack();
    ready(stack);
  });
  afterEach(() => assertHealthy(stack));
  after(async () => {
    try {
      printTallies();
      if (options.checkFiles !== false) await assertFilesClean(stack, options.forbidden);
    } finally {
      await stack.close(); // a second close of the server (assertFilesClean closed it) is a no-op
    }
  });
}

export async function startFuzzStack(): Promise<FuzzStack> {
  captureStderr();
  const fast = '1000000/min';
  const stack = await startStack(
    {
      robots: { ops: { key: '', limit: fast }, team: { key: '', limit: fast } },
      apps: { helpdesk: { corpId: HELPDESK.corpId, agentId: HELPDESK.agentId, corpSecret: '${env:HELPDESK_REAL}', clientSecret: '${env:HELPDESK_CLIENT}', limit: fast } },
      limits: { maxBodyBytes: '64kb', maxUploadBytes: '64kb' },
      approvals: { approvers: ['alice', 'bob'], maxPending: 1_000_000 },
      reload: { watch: false }, // a long run judges every case by the policies it started with
    },
    { ratePerMinute: 0 },
  );
  const got = await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${HELPDESK.corpId}&corpsecret=${HELPDESK.clientSecret}`);
  const minted = ((await got.json()) as { access_token: string }).access_token;
  const real = await fetch(`${stack.sim.url}/cgi-bin/gettoken?corpid=${HELPDESK.corpId}&corpsecret=${HELPDESK.corpSecret}`);
  const realToken = ((await real.json()) as { access_token: string }).access_token;
  assert.ok(minted && realToken);
  const tokenKey = readFileSync(join(stack.dataDir, 'token.key'));
  const secrets = [
    ...Object.values(stack.keys),
    HELPDESK.corpSecret,
    HELPDESK.clientSecret,
    ADMIN_SECRET,
    realToken,
    tokenKey.toString('hex'),
    tokenKey.toString('base64'),
    tokenKey.toString('base64url'),
  ];
  return Object.assign(stack, { secrets, minted, realToken });
}

// ------------------------------------------------------------------------------------------------
// answers
// ------------------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  text: string;
  json: Record<string, unknown> | undefined;
  /** Everything the connection carried back (raw requests), or the body (fetch). */
  raw: string;
}

export async function replyOf(res: Response): Promise<Reply> {
  const text = await res.text();
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, text, json: parseJson(text), raw: `${JSON.stringify(headers)}\n${text}` };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Answered by the firewall itself (rather than by node's HTTP parser): it carries X-Request-Id. */
export const fromFirewall = (r: Reply) => r.headers['x-request-id'] !== undefined;

/**
 * Every answer: no 5xx (the simulator is healthy, so a 5xx is the firewall's own failure); a
 * refusal is a 4xx with a JSON body whose errcode is a non-zero number; no secret anywhere in it;
 * the minted token only where `mintedAllowed`; none of `notEchoed` (unknown aliases, tokens).
 */
export function checkReply(stack: FuzzStack, r: Reply, opts: { mintedAllowed?: boolean; notEchoed?: string[] } = {}): void {
  const shown = `${r.status} ${r.text.slice(0, 300)}`;
  assert.ok(r.status >= 100 && r.status < 500, `no 5xx for client input: ${shown}`);
  if (r.status >= 400 && fromFirewall(r)) {
    assert.ok(r.json, `a refusal has a JSON body: ${shown}`);
    assert.equal(typeof r.json.errcode, 'number', `errcode is a number: ${shown}`);
    assert.notEqual(r.json.errcode, 0, `a refusal's errcode is not 0: ${shown}`);
    assert.equal(typeof r.json.errmsg, 'string', shown);
    assert.equal(typeof r.json.request_id, 'string', shown);
  }
  if (r.status >= 400 && !fromFirewall(r)) {
    // node's own HTTP parser refused the request before the firewall saw it (bare 400/413/431).
    assert.ok(r.status < 500, shown);
  }
  if (r.status === 200 && r.json) assert.equal(typeof r.json.errcode, 'number', `WeCom's answers carry an errcode: ${shown}`);
  for (const s of stack.secrets) assert.ok(!r.raw.includes(s), `an answer carries a secret (${s.slice(0, 4)}…): ${shown}`);
  if (!opts.mintedAllowed) assert.ok(!r.raw.includes(stack.minted), `an answer carries the minted token: ${shown}`);
  for (const s of opts.notEchoed ?? []) if (s.length >= 6) assert.ok(!r.text.includes(s), `an answer echoes ${JSON.stringify(s.slice(0, 40))}: ${shown}`);
}

export async function assertHealthy(stack: Stack): Promise<void> {
  const res = await fetch(`${stack.server.url}/healthz`);
  await res.text();
  assert.equal(res.status, 200, 'healthz');
}

/** Everything the simulator saw: any WeCom path, robot or app. */
export const upstreamCount = (stack: Stack) => stack.sim.requestCount();

// ------------------------------------------------------------------------------------------------
// raw HTTP
// ------------------------------------------------------------------------------------------------

export function requestBytes(method: string, target: string, headers: Array<[string, string]>, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const head = `${method} ${target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

/**
 * Sends bytes as they are and reads until the server closes.
 *
 * A client that gives up half-closes. Node's server (httpAllowHalfOpen off) answers a half-close
 * that cuts a request short with its own 400, but drops a complete request still being handled,
 * without an answer. So half-closing on a timer races the firewall: a complete request answered
 * after the timer (a loaded machine) would count as "no answer". Hence: `endAfterWrite` for a
 * request the caller knows to be incomplete (a body shorter than its framing says: node waits
 * for the rest), half-closed as soon as it is written; otherwise only after `quietMs` of silence,
 * long by default, the fallback for a request node unexpectedly waits on. After `giveUpMs` the
 * socket is destroyed.
 */
export function rawRequest(base: string, bytes: Buffer, opts: { endAfterWrite?: boolean; quietMs?: number; giveUpMs?: number } = {}): Promise<Reply & { answered: boolean }> {
  const { hostname, port } = new URL(base);
  const quietMs = opts.quietMs ?? 2000;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: hostname, port: Number(port) });
    const quiet = opts.endAfterWrite ? undefined : setTimeout(() => socket.end(), quietMs);
    const giveUp = setTimeout(() => socket.destroy(), opts.giveUpMs ?? quietMs + 10_000);
    socket.on('connect', () => {
      socket.write(bytes, () => undefined);
      if (opts.endAfterWrite) socket.end();
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (parseResponse(Buffer.concat(chunks))) clearTimeout(quiet); // a 100 Continue is not an answer
    });
    socket.on('error', () => undefined); // EPIPE/ECONNRESET: the server answered early and closed
    socket.on('close', () => {
      clearTimeout(quiet);
      clearTimeout(giveUp);
      const raw = Buffer.concat(chunks);
      const parsed = parseResponse(raw);
      resolve({ ...(parsed ?? { status: 0, headers: {}, text: '', json: undefined }), raw: raw.toString('latin1'), answered: parsed !== undefined });
    });
  });
}

/** The first final (non-1xx) response in `raw`. */
function parseResponse(raw: Buffer): Omit<Reply, 'raw'> | undefined {
  let at = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    const lines = raw.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) return undefined;
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let rest = raw.subarray(end + 4);
    if (status < 200) {
      at = end + 4;
      continue;
    }
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const out: Buffer[] = [];
      for (;;) {
        const nl = rest.indexOf('\r\n');
        if (nl < 0) break;
        const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
        if (!size) break;
        out.push(rest.subarray(nl + 2, nl + 2 + size));
        rest = rest.subarray(nl + 2 + size + 2);
      }
      rest = Buffer.concat(out);
    } else if (headers['content-length'] !== undefined) rest = rest.subarray(0, Number(headers['content-length']));
    const text = rest.toString('utf8');
    return { status, headers, text, json: parseJson(text) };
  }
}

// ------------------------------------------------------------------------------------------------
// the audit log
// ------------------------------------------------------------------------------------------------

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * After a run: no secret in any file under dataDir (token.key itself aside), and none of
 * `auditForbidden` (credentials the fuzzer sent, unknown aliases, minted tokens) in the audit log,
 * whose records are built from aliases and digests, never from message text.
 *
 * It stops the firewall first: the audit writer batches lines, and the only flush it offers is
 * close() (RunningServer.close → firewall.close → the audit log drained, the approval store
 * closed). Scanning a live firewall's files could miss the last records it had not yet written.
 * The simulator and dataDir are left to stack.close().
 */
export async function assertFilesClean(stack: FuzzStack, auditForbidden: Iterable<string> = []): Promise<void> {
  await stack.server.close();
  const files = walk(stack.dataDir).filter((f) => !f.endsWith('token.key'));
  const audit = files.filter((f) => f.includes(`${join(stack.dataDir, 'audit')}`));
  assert.ok(audit.some((f) => f.endsWith('.log')), 'an audit log was written');
  for (const f of files) {
    const content = readFileSync(f).toString('latin1');
    for (const s of stack.secrets) assert.ok(!content.includes(s), `${f} holds a secret (${s.slice(0, 4)}…)`);
  }
  const forbidden = [...new Set([...auditForbidden, stack.minted])].filter((s) => s.length >= 8);
  for (const f of audit) {
    const content = readFileSync(f).toString('utf8');
    for (const s of forbidden) assert.ok(!content.includes(s), `${f} holds ${JSON.stringify(s.slice(0, 24))}…`);
  }
  // The operational log (stderr, this process) is redacted too, and never carries message text.
  for (const s of [...stack.secrets, ...forbidden]) assert.ok(!stderrText.includes(s), `the operational log holds ${JSON.stringify(s.slice(0, 24))}…`);
}

let stderrText = '';
let capturing = false;
/** Keeps a copy of what this process writes to stderr (the firewall's operational log), passing it through. */
function captureStderr(): void {
  if (capturing) return;
  capturing = true;
  const write = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (stderrText.length < 20_000_000) stderrText += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
}

// ------------------------------------------------------------------------------------------------
// what the cases did (FUZZ_STATS=1 prints it), to see that a property reaches what it means to
// ------------------------------------------------------------------------------------------------

const tallies = new Map<string, Map<string, number>>();

export function tally(property: string, outcome: string): void {
  const t = tallies.get(property) ?? new Map<string, number>();
  t.set(outcome, (t.get(outcome) ?? 0) + 1);
  tallies.set(property, t);
}

export function printTallies(): void {
  if (!process.env.FUZZ_STATS) return;
  for (const [property, t] of tallies) {
    const rows = [...t].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${String(v).padStart(6)}  ${k}`);
    console.log(`# ${property}\n${rows.map((r) => `#   ${r}`).join('\n')}`);
  }
}

/** A short label for an answer: status, errcode, and who answered. */
export const outcome = (r: Reply & { answered?: boolean }) =>
  r.answered === false ? 'no answer' : `${r.status}${r.json && typeof r.json.errcode === 'number' ? `/${r.json.errcode}` : ''}${fromFirewall(r) ? '' : ' (node)'}`;
