import { isAbsolute, dirname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Ajv, type ErrorObject } from 'ajv';
import { configSchema } from './schema.js';
import { Redactor, resolveSecret } from './secrets.js';
import { parseDuration, parseRate, parseSize, type Rate } from './units.js';
import { readYaml, suggest } from '../yaml-source.js';
import { shippedPoliciesDir } from '../paths.js';
import { compileCallers, type Callers } from '../callers/identify.js';
import { LOOPBACK, parseAddress } from '../callers/cidr.js';
import { checkCa, type CaMaterial } from '../egress/ca-check.js';
import { isHostname, isWecomHost, normalizeHost } from '../egress/hosts.js';

/** What a user writes: the YAML file's content, or the same object passed to createFirewall(). */
export interface FirewallConfigInput {
  listen?: string | number;
  upstream?: string;
  upstreamTimeout?: string;
  dataDir?: string;
  policies?: string[];
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  tls?: TlsInput;
  server?: { headersTimeout?: string; requestTimeout?: string; keepAliveTimeout?: string; maxHeaderSize?: string | number; maxConnections?: number };
  callers?: Record<string, { from: string[]; token?: string; description?: string }>;
  trustedProxies?: string[];
  egress?: { listen?: string | number; tunnel?: string[]; ca?: { cert: string; key: string } };
  robots?: Record<string, { key: string; limit?: string; description?: string }>;
  apps?: Record<string, { corpId: string; corpSecret: string; agentId: number; clientSecret: string; limit?: string; description?: string }>;
  bots?: Record<string, { botId: string; secret: string; clientSecret: string; limit?: string; description?: string }>;
  botUpstream?: string;
  limits?: { global?: string; perCaller?: string; pacing?: { maxWait: string }; maxBodyBytes?: string | number; maxUploadBytes?: string | number };
  admin?: { listen?: string | number; allowPublic?: boolean; tls?: TlsInput; publicUrl?: string; jwtSecret?: string; jwks?: { url: string; issuer: string; audience: string } };
  approvals?: { approvers?: string[]; groups?: Record<string, string[]>; ttl?: string; maxPending?: number; keepDecided?: string; deliverWithin?: string; notify?: { robot: string; linkTtl?: string } };
  audit?: { enabled?: boolean; dir?: string; retentionDays?: number; maxFileSize?: string | number };
  reload?: { watch?: boolean; keep?: number };
  dedupe?: { enabled?: boolean; window?: string; maxEntries?: number };
  heartbeat?: { robot: string; every: string; failAfter?: number; alertRobot?: string };
  resilience?: { retries?: number; baseDelay?: string; maxDelay?: string; budget?: string; breaker?: { failures?: number; halfOpenAfter?: string }; cooldown?: string };
}

export interface Listen { host: string; port: number }
export interface TlsInput { cert: string; key: string }
/** A listener's certificate chain and private key (PEM), read and checked as a pair at load. */
export interface TlsFiles { certFile: string; keyFile: string; cert: Buffer; key: Buffer }
/** Limits of both listeners (node:http options), so slow or oversized clients are cut off. */
export interface ServerLimits { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; maxHeaderSize: number; maxConnections: number }
export const SERVER_DEFAULTS = { headersTimeout: '15s', requestTimeout: '60s', keepAliveTimeout: '5s', maxHeaderSize: '16kb', maxConnections: 1024 } as const;
export interface Robot { alias: string; key: string; limit: Rate }
/** A self-built app: the real corpsecret stays here; agents are given `clientSecret` instead. */
export interface App { name: string; corpId: string; corpSecret: string; agentId: number; clientSecret: string; limit: Rate }
/** An intelligent robot on the bot WebSocket: the real secret stays here; agents log in with `clientSecret`. */
export interface Bot { alias: string; botId: string; secret: string; clientSecret: string; limit: Rate }

/** The complete internal configuration: every default filled, every secret resolved, every unit parsed. */
export interface ResolvedConfig {
  file?: string;
  listen: Listen;
  upstream: URL;
  upstreamTimeoutMs: number;
  dataDir: string;
  policies: string[];
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** TLS on `listen`; plain HTTP without. */
  tls?: TlsFiles;
  server: ServerLimits;
  /** Who may call `listen`: compiled `callers:` and `trustedProxies:` (lib/callers/identify.ts), read per request, so a reload applies at once. */
  callers: Callers;
  /** The egress proxy (an HTTPS proxy for agents whose WeCom host is hard-coded); undefined: not started. */
  egress?: EgressConfig;
  robots: Map<string, Robot>;
  apps: Map<string, App>;
  /** Bots by alias (the bot WebSocket). */
  bots: Map<string, Bot>;
  /** Where the firewall opens each bot's WebSocket: WeCom's wss://openws.work.weixin.qq.com by default. */
  botUpstream: URL;
  limits: { global?: Rate; perCaller?: Rate; pacingMaxWaitMs: number; maxBodyBytes: number; maxUploadBytes: number };
  /** Approvers' tokens: HS256 with jwtSecret, and/or asymmetric ones checked against a JWKS (issuer and audience required). */
  admin?: { listen: Listen; allowPublic: boolean; tls?: TlsFiles; publicUrl?: string; jwtSecret?: Uint8Array; jwks?: { url: URL; issuer: string; audience: string } };
  approvals: {
    approvers: string[];
    groups: Map<string, string[]>;
    ttlMs: number;
    maxPending: number;
    /** Payload bytes of decided records are erased this long after creation (the record and digest stay). */
    keepDecidedMs: number;
    /**
     * How long an approved message may wait to be delivered (its robot's limit, a 45009 cooldown, an
     * open circuit) before it is marked failed. Default: the record's remaining ttl, at least 10 minutes.
     */
    deliverWithinMs?: number;
    /** Post a card to this robot when a request is parked; links in it live linkTtlMs (at most until the record expires). */
    notify?: { robot: string; linkTtlMs: number };
  };
  /** Audit files rotate daily and at maxFileBytes; rotated files older than retentionDays are deleted. */
  audit: { enabled: boolean; dir: string; retentionDays: number; maxFileBytes: number };
  /** Reload on SIGHUP and, with watch, when the config or a policy file changes; keep the last `keep` good policy sets. */
  reload: { watch: boolean; keep: number };
  /** A repeated request (same Idempotency-Key, or same caller, route, robot and payload) within windowMs gets the first answer. */
  dedupe: { enabled: boolean; windowMs: number; maxEntries: number };
  /** A synthetic message to `robot` every `everyMs`; after failAfter failures in a row: error log, metric, a message to alertRobot. */
  heartbeat?: { robot: string; everyMs: number; failAfter: number; alertRobot?: string };
  /** Toward WeCom: bounded retries with full-jitter backoff, one circuit breaker per upstream, a cooldown after WeCom's 45009. */
  resilience: ResilienceConfig;
  redactor: Redactor;
}

export interface EgressConfig {
  listen: Listen;
  /** Hosts tunnelled blind (port 443 only, after their addresses are checked): normalised names. */
  tunnel: ReadonlySet<string>;
  /** The CA from egress.ca; without it, the one generated under <dataDir>/ca/ on first start. */
  ca?: CaMaterial & { certFile: string };
}

/** See lib/upstream/guard.ts for what is retried and why each default is what it is. */
export interface ResilienceConfig {
  /** Retries after the first attempt, only where WeCom certainly did not act. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A retry is made only if its delay ends within this long of the first attempt. */
  budgetMs: number;
  breaker: { failures: number; halfOpenAfterMs: number };
  cooldownMs: number;
}

export const RESILIENCE_DEFAULTS = { retries: 2, baseDelay: '250ms', maxDelay: '2s', budget: '5s', failures: 5, halfOpenAfter: '30s', cooldown: '60s' } as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export const ROBOT_DEFAULT_LIMIT = '20/min'; // WeCom's own limit per robot
export const APP_DEFAULT_LIMIT = '600/min'; // app sends per app; per-member limits are separate
export const BOT_DEFAULT_LIMIT = '20/min'; // outbound messages per bot, as for group robots
export const BOT_UPSTREAM = 'wss://openws.work.weixin.qq.com';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
const validate = ajv.compile(configSchema);

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const source = readYaml(file);
  return resolveConfig(source.data ?? {}, { file, baseDir: dirname(resolve(file)), env, locate: source.locate });
}

/**
 * A config file validated against the schema, with nothing resolved: for commands that need a few of
 * its values on a host where the firewall's secrets may not all be (`proxy check`). `path` resolves
 * a path as the loader does; `secret` resolves one reference when it is used, naming the file, line
 * and pointer if it cannot.
 */
export function readConfigInput(file: string, env: NodeJS.ProcessEnv = process.env): { input: FirewallConfigInput; path(p: string): string; secret(pointer: string, ref: string): string } {
  const source = readYaml(file);
  const input = source.data ?? {};
  if (!validate(input)) throw new ConfigError(describe(validate.errors ?? []).map(([p, msg]) => `${source.locate(p)}: ${p || '/'}: ${msg}`));
  const baseDir = dirname(resolve(file));
  return {
    input: input as FirewallConfigInput,
    path: (p) => (isAbsolute(p) ? p : resolve(baseDir, p)),
    secret(pointer, ref) {
      try {
        return resolveSecret(ref, env, baseDir);
      } catch (err) {
        throw new ConfigError([`${source.locate(pointer)}: ${pointer}: ${(err as Error).message}`]);
      }
    },
  };
}

export function resolveConfig(
  input: unknown,
  options: { file?: string; baseDir?: string; env?: NodeJS.ProcessEnv; locate?: (pointer: string) => string } = {},
): ResolvedConfig {
  const where: (pointer: string) => string = options.locate ?? (() => options.file ?? 'config');
  if (!validate(input)) throw new ConfigError(describe(validate.errors ?? []).map(([p, msg]) => `${where(p)}: ${p || '/'}: ${msg}`));
  const c = input as FirewallConfigInput;
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? process.env;
  const redactor = new Redactor();
  const problems: string[] = [];
  const attempt = <T>(pointer: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      problems.push(`${where(pointer)}: ${pointer}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const secret = (pointer: string, ref: string) =>
    attempt(pointer, () => {
      const value = resolveSecret(ref, env, baseDir);
      redactor.add(value);
      return value;
    });
  const path = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));

  const robots = new Map<string, Robot>();
  for (const [alias, r] of Object.entries(c.robots ?? {})) {
    const key = secret(`/robots/${alias}/key`, r.key);
    const limit = attempt(`/robots/${alias}/limit`, () => parseRate(r.limit ?? ROBOT_DEFAULT_LIMIT));
    if (key && /^https?:|key=/.test(key)) problems.push(`${where(`/robots/${alias}/key`)}: /robots/${alias}/key: the secret holds a whole webhook URL; store only the value of its key= parameter`);
    if (key && limit) robots.set(alias, { alias, key, limit });
  }
  const apps = new Map<string, App>();
  for (const [name, a] of Object.entries(c.apps ?? {})) {
    const corpSecret = secret(`/apps/${name}/corpSecret`, a.corpSecret);
    const clientSecret = secret(`/apps/${name}/clientSecret`, a.clientSecret);
    const limit = attempt(`/apps/${name}/limit`, () => parseRate(a.limit ?? APP_DEFAULT_LIMIT));
    if (corpSecret && clientSecret === corpSecret) problems.push(`${where(`/apps/${name}/clientSecret`)}: /apps/${name}/clientSecret: must differ from corpSecret: it is what the agent holds instead`);
    if (corpSecret && clientSecret && limit) apps.set(name, { name, corpId: a.corpId, corpSecret, agentId: a.agentId, clientSecret, limit });
  }
  for (const [name, a] of apps) {
    const clash = [...apps.values()].find((b) => b !== a && b.corpId === a.corpId && b.clientSecret === a.clientSecret);
    if (clash && name < clash.name) problems.push(`${where(`/apps/${name}/clientSecret`)}: /apps/${name}/clientSecret: apps ${name} and ${clash.name} share a corpId and clientSecret; a token request could not tell them apart`);
  }
  const bots = new Map<string, Bot>();
  for (const [alias, b] of Object.entries(c.bots ?? {})) {
    const botSecret = secret(`/bots/${alias}/secret`, b.secret);
    const clientSecret = secret(`/bots/${alias}/clientSecret`, b.clientSecret);
    const limit = attempt(`/bots/${alias}/limit`, () => parseRate(b.limit ?? BOT_DEFAULT_LIMIT));
    if (botSecret && clientSecret === botSecret) problems.push(`${where(`/bots/${alias}/clientSecret`)}: /bots/${alias}/clientSecret: must differ from secret: it is what the agent holds instead`);
    const twin = [...bots.values()].find((o) => o.botId === b.botId);
    if (twin) problems.push(`${where(`/bots/${alias}/botId`)}: /bots/${alias}/botId: bots ${twin.alias} and ${alias} have the same botId; a login could not tell them apart`);
    if (botSecret && clientSecret && limit) bots.set(alias, { alias, botId: b.botId, secret: botSecret, clientSecret, limit });
  }
  const jwtSecret = c.admin?.jwtSecret ? secret('/admin/jwtSecret', c.admin.jwtSecret) : undefined;
  if (jwtSecret !== undefined && jwtSecret.length < 32) problems.push(`${where('/admin/jwtSecret')}: /admin/jwtSecret: an HS256 secret needs at least 32 characters`);
  const listenAt = (pointer: string, v: string | number | undefined, port: number) => attempt(pointer, () => parseListen(v ?? `127.0.0.1:${port}`));
  const rate = (pointer: string, v?: string) => (v === undefined ? undefined : attempt(pointer, () => parseRate(v)));
  const tlsFiles = (pointer: string, t?: TlsInput) => (t === undefined ? undefined : attempt(pointer, () => readTls(path(t.cert), path(t.key))));
  const callers = compileCallers(
    Object.entries(c.callers ?? {}).map(([name, k]) => ({ name, from: k.from, token: k.token === undefined ? undefined : secret(`/callers/${name}/token`, k.token) })),
    c.trustedProxies ?? [],
    (pointer, message) => problems.push(`${where(pointer)}: ${pointer}: ${message}`),
  );
  const server = attempt('/server', () => resolveServer(c.server))!;
  const egress = c.egress && resolveEgress(c.egress, { attempt, secret, path, problem: (pointer, message) => problems.push(`${where(pointer)}: ${pointer}: ${message}`) });
  const adminListen = c.admin ? listenAt('/admin/listen', c.admin.listen, 8081) : undefined;
  if (adminListen && !c.admin?.allowPublic && !isLoopbackHost(adminListen.host)) {
    problems.push(`${where('/admin/listen')}: /admin/listen: ${adminListen.host} is not a loopback address: the approvals console and API would be reachable from the network. Keep it on 127.0.0.1 (reach it over SSH or a private network), or set admin.allowPublic: true (with admin.tls)`);
  }

  const resolved: ResolvedConfig = {
    file: options.file,
    listen: listenAt('/listen', c.listen, 8080)!,
    upstream: new URL(c.upstream ?? 'https://qyapi.weixin.qq.com'),
    upstreamTimeoutMs: parseDuration(c.upstreamTimeout ?? '10s'),
    dataDir: path(c.dataDir ?? './data'),
    policies: (c.policies ?? [shippedPoliciesDir()]).map(path),
    logLevel: c.logLevel ?? 'info',
    tls: tlsFiles('/tls', c.tls),
    server,
    callers,
    egress,
    robots,
    apps,
    bots,
    botUpstream: new URL(c.botUpstream ?? BOT_UPSTREAM),
    limits: {
      global: rate('/limits/global', c.limits?.global),
      perCaller: rate('/limits/perCaller', c.limits?.perCaller),
      pacingMaxWaitMs: c.limits?.pacing ? parseDuration(c.limits.pacing.maxWait) : 0,
      maxBodyBytes: parseSize(c.limits?.maxBodyBytes ?? '4mb'),
      maxUploadBytes: parseSize(c.limits?.maxUploadBytes ?? '21mb'),
    },
    admin: c.admin
      ? {
          listen: adminListen!,
          allowPublic: c.admin.allowPublic ?? false,
          tls: tlsFiles('/admin/tls', c.admin.tls),
          publicUrl: c.admin.publicUrl?.replace(/\/+$/, ''),
          jwtSecret: jwtSecret === undefined ? undefined : new TextEncoder().encode(jwtSecret),
          jwks: c.admin.jwks && { ...c.admin.jwks, url: new URL(c.admin.jwks.url) },
        }
      : undefined,
    approvals: {
      approvers: c.approvals?.approvers ?? [],
      groups: new Map(Object.entries(c.approvals?.groups ?? {})),
      ttlMs: parseDuration(c.approvals?.ttl ?? '30m'),
      maxPending: c.approvals?.maxPending ?? 100,
      keepDecidedMs: parseDuration(c.approvals?.keepDecided ?? '30d'),
      deliverWithinMs: c.approvals?.deliverWithin ? parseDuration(c.approvals.deliverWithin) : undefined,
      notify: c.approvals?.notify && { robot: c.approvals.notify.robot, linkTtlMs: parseDuration(c.approvals.notify.linkTtl ?? '15m') },
    },
    audit: { enabled: c.audit?.enabled ?? true, dir: '', retentionDays: c.audit?.retentionDays ?? 30, maxFileBytes: parseSize(c.audit?.maxFileSize ?? '100mb') },
    reload: { watch: c.reload?.watch ?? true, keep: c.reload?.keep ?? 10 },
    dedupe: { enabled: c.dedupe?.enabled ?? true, windowMs: parseDuration(c.dedupe?.window ?? '2m'), maxEntries: c.dedupe?.maxEntries ?? 10_000 },
    heartbeat: c.heartbeat && { robot: c.heartbeat.robot, everyMs: parseDuration(c.heartbeat.every), failAfter: c.heartbeat.failAfter ?? 3, alertRobot: c.heartbeat.alertRobot },
    resilience: resolveResilience(c.resilience),
    redactor,
  };
  const notify = c.approvals?.notify;
  if (notify && c.robots?.[notify.robot] === undefined) {
    problems.push(`${where('/approvals/notify/robot')}: /approvals/notify/robot: no robot "${notify.robot}" under robots:${hint(suggest(notify.robot, Object.keys(c.robots ?? {})))}`);
  }
  for (const [pointer, alias] of [['/heartbeat/robot', c.heartbeat?.robot], ['/heartbeat/alertRobot', c.heartbeat?.alertRobot]] as const) {
    if (alias !== undefined && c.robots?.[alias] === undefined) problems.push(`${where(pointer)}: ${pointer}: no robot "${alias}" under robots:${hint(suggest(alias, Object.keys(c.robots ?? {})))}`);
  }
  const deliverWithin = resolved.approvals.deliverWithinMs;
  if (deliverWithin !== undefined && deliverWithin < 1_000) {
    problems.push(`${where('/approvals/deliverWithin')}: /approvals/deliverWithin: at least 1s (an approved message needs time to wait for its robot's window, a cooldown or a circuit; 10m or more is sensible); leave it out for the default, the record's remaining ttl, at least 10m`);
  }
  if (notify && !c.admin?.publicUrl) problems.push(`${where('/approvals/notify')}: /approvals/notify: needs admin.publicUrl, the address approvers open the console at (e.g. https://firewall.example.com:8081)`);
  resolved.audit.dir = c.audit?.dir ? path(c.audit.dir) : resolve(resolved.dataDir, 'audit');
  if (problems.length) throw new ConfigError(problems);
  return resolved;
}

function resolveResilience(r: FirewallConfigInput['resilience'] = {}): ResilienceConfig {
  const d = RESILIENCE_DEFAULTS;
  return {
    retries: r.retries ?? d.retries,
    baseDelayMs: parseDuration(r.baseDelay ?? d.baseDelay),
    maxDelayMs: parseDuration(r.maxDelay ?? d.maxDelay),
    budgetMs: parseDuration(r.budget ?? d.budget),
    breaker: { failures: r.breaker?.failures ?? d.failures, halfOpenAfterMs: parseDuration(r.breaker?.halfOpenAfter ?? d.halfOpenAfter) },
    cooldownMs: parseDuration(r.cooldown ?? d.cooldown),
  };
}

export const EGRESS_DEFAULT_LISTEN = '127.0.0.1:3128';

interface Resolving {
  attempt: <T>(pointer: string, fn: () => T) => T | undefined;
  secret: (pointer: string, ref: string) => string | undefined;
  path: (p: string) => string;
  problem: (pointer: string, message: string) => void;
}

/**
 * egress: a listen address, the hosts to tunnel blind (names only: never an address, a port or one of
 * WeCom's hosts, which would bypass every check) and an optional CA, checked as a pair with its
 * nameConstraints.
 */
function resolveEgress(e: NonNullable<FirewallConfigInput['egress']>, r: Resolving): EgressConfig | undefined {
  const listen = r.attempt('/egress/listen', () => parseListen(e.listen ?? EGRESS_DEFAULT_LISTEN));
  const tunnel = new Set<string>();
  (e.tunnel ?? []).forEach((raw, i) => {
    const host = normalizeHost(raw.trim());
    const pointer = `/egress/tunnel/${i}`;
    if (parseAddress(host) || /^\[.*\]$/.test(host)) r.problem(pointer, `"${raw}" is an IP address: list host names only (IP-literal targets are always refused)`);
    else if (!isHostname(host)) r.problem(pointer, `"${raw}" is not a host name: write it bare, e.g. api.openai.com (no scheme, port, path or wildcard; only port 443 is tunnelled)`);
    else if (isWecomHost(host)) r.problem(pointer, `"${raw}" is one of WeCom's hosts: a blind tunnel to it would bypass every policy; the egress proxy intercepts WeCom itself, so remove it`);
    else tunnel.add(host);
  });
  const ca =
    e.ca &&
    r.attempt('/egress/ca', () => {
      const certFile = r.path(e.ca!.cert);
      const keyPem = r.secret('/egress/ca/key', e.ca!.key);
      if (keyPem === undefined) return undefined;
      let certPem: string;
      try {
        certPem = readFileSync(certFile, 'utf8');
      } catch (err) {
        throw new Error(`cannot read the CA certificate file ${certFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      return { ...checkCa(certPem, keyPem, certFile), certFile };
    });
  return listen && { listen, tunnel, ca };
}

function resolveServer(s: FirewallConfigInput['server'] = {}): ServerLimits {
  const d = SERVER_DEFAULTS;
  const limits = {
    headersTimeoutMs: parseDuration(s.headersTimeout ?? d.headersTimeout),
    requestTimeoutMs: parseDuration(s.requestTimeout ?? d.requestTimeout),
    keepAliveTimeoutMs: parseDuration(s.keepAliveTimeout ?? d.keepAliveTimeout),
    maxHeaderSize: parseSize(s.maxHeaderSize ?? d.maxHeaderSize),
    maxConnections: s.maxConnections ?? d.maxConnections,
  };
  if (!limits.headersTimeoutMs || !limits.requestTimeoutMs) throw new Error('headersTimeout and requestTimeout must be more than 0: without them a slow client holds a connection forever');
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new Error('headersTimeout must not be longer than requestTimeout (the headers are part of the request)');
  if (limits.maxHeaderSize < 1024) throw new Error('maxHeaderSize below 1kb would refuse ordinary requests');
  return limits;
}

/** Reads a certificate chain and its key and checks that they are PEM and belong together. */
function readTls(certFile: string, keyFile: string): TlsFiles {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const files = { certFile, keyFile, cert: read(certFile, 'certificate'), key: read(keyFile, 'private key') };
  try {
    createSecureContext({ cert: files.cert, key: files.key });
  } catch (err) {
    throw new Error(`${certFile} and ${keyFile} are not a PEM certificate and its unencrypted private key (${(err as Error).message})`);
  }
  return files;
}

/** 127.0.0.0/8, ::1 or localhost: the admin listener may bind these without admin.allowPublic. */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const a = parseAddress(host);
  return a !== undefined && LOOPBACK.has(a.parsed);
}

const hint = (s: string | undefined) => (s ? ` (did you mean "${s}"?)` : '');

export function parseListen(value: string | number): Listen {
  if (typeof value === 'number') return { host: '127.0.0.1', port: value };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid listen address "${value}": write host:port, e.g. 127.0.0.1:8080 or [::1]:8080`);
  return { host: m[1] ?? m[2]!, port };
}

/** ajv errors as [pointer, message], the unknown-key ones with a "did you mean". */
function describe(errors: ErrorObject[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'anyOf') continue; // its branches are reported themselves
    let pointer = e.instancePath;
    let msg: string;
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      pointer = `${pointer}/${key}`;
      const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      const guess = suggest(key, known);
      msg = `unknown key "${key}"${guess ? `; did you mean "${guess}"?` : ''} (known keys: ${known.join(', ')})`;
    } else if (e.keyword === 'pattern' && (e.schema as string).startsWith('^\\$\\{')) {
      msg = 'must be a secret reference like ${env:NAME} or ${file:/path}, never the secret itself';
    } else if (e.keyword === 'pattern' && e.propertyName) {
      msg = `name "${e.propertyName}" must be letters, digits, ".", "_" or "-" (at most 64)`;
    } else {
      msg = `${e.message ?? 'invalid'}${e.keyword === 'pattern' ? ` (got ${JSON.stringify(e.data)})` : ''}`;
    }
    const line = `${pointer}\u0000${msg}`;
    if (!seen.has(line)) out.push([pointer, msg]), seen.add(line);
  }
  return out;
}
