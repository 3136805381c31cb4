import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { statSync } from 'node:fs';
import type express from 'express';
import type { Logger } from 'winston';
import type { ResolvedConfig } from './config/load.js';
import { ConfigError } from './config/load.js';
import { SqliteApprovalStore } from './approvals/sqlite-store.js';
import { Approvals } from './approvals/service.js';
import { ApprovalLinks } from './approvals/links.js';
import { createNotifier } from './approvals/notify.js';
import { createAuditLog, type AuditLog, type AuditRecord } from './audit/audit.js';
import { upstreamAgent, upstreamPath } from './upstream/agent.js';
import { requestUpstream, type UpstreamAnswer } from './upstream/send.js';
import { AppClient } from './apps/client.js';
import { MintedTokens, loadTokenKey } from './apps/minted-tokens.js';
import type { Approval } from './approvals/store.js';
import { FirewallError } from './errors.js';
import { UpstreamProxy } from './upstream/proxy.js';
import { UpstreamGuard } from './upstream/guard.js';
import { Cooldowns } from './limits/cooldowns.js';
import { createHttpHandler } from './transports/http/handler.js';
import { createPipeline } from './pipeline/pipeline.js';
import type { Remembered } from './pipeline/dedupe.js';
import { BotChannel } from './transports/bot/channel.js';
import { createAdminApp } from './http/admin.js';
import { createAuthenticator } from './http/auth.js';
import { createLogger } from './log.js';
import { PolicyError } from './policy/compile.js';
import { saveSet } from './policy/history.js';
import { watchFiles } from './config/watch.js';
import { loadGeneration, restartOnlyChanges, type FirewallOptions } from './generation.js';
import { Metrics, countedAudit } from './metrics/metrics.js';
import { createReadiness, type Readiness } from './health/readiness.js';
import { startHeartbeat, type Heartbeat } from './health/heartbeat.js';
import { Dedupe } from './dedupe/dedupe.js';

export type { FirewallOptions } from './generation.js';

export type ReloadResult = { ok: true; policyFiles: number; rules: number; savedAs?: string } | { ok: false; problems: string[] };

/** An Express-mountable (or plain node:http) handler for the WeCom paths, plus its admin app. */
export interface Firewall {
  (req: http.IncomingMessage, res: http.ServerResponse, next?: unknown): void;
  /** The configuration in force (a reload replaces it). */
  readonly config: ResolvedConfig;
  /** The admin API (approvals) as an Express app, for a listener of its own; undefined without `admin:`. */
  readonly admin?: express.Express;
  /** Settles once approved messages left unsent by a previous run have been sent (see Approvals.resume). */
  readonly resumed: Promise<void>;
  readonly metrics: Metrics;
  /** The audit log every decision goes to (and is counted from): transports record their own refusals here. */
  readonly audit: Pick<AuditLog, 'record' | 'healthy'>;
  /** The operational log (stderr), with every configured secret redacted. */
  readonly log: Logger;
  /** The heartbeat, when `heartbeat:` is configured. */
  readonly heartbeat?: Heartbeat;
  /**
   * Serves the bot WebSocket: give it the HTTP server's 'upgrade' events (`server.on('upgrade',
   * firewall.upgrade)`). The standalone server and the egress proxy do.
   */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** true once config, policies and store are loaded and the store answers. */
  healthy(): boolean;
  /** Ready to do its job: the store takes writes and WeCom is reachable. */
  ready(): Promise<Readiness>;
  /**
   * Reads the config and policies again; if the whole new set is valid it replaces the old one at
   * once, otherwise the old one stays in force and the problems (file:line) are returned and logged.
   */
  reload(): ReloadResult;
  /**
   * Answers every held request 503 / 9900023 (its record expires: it is never sent later) and stops
   * scheduling deliveries. A stopping server calls it before draining its connections; close() does too.
   */
  settleHolds(): Promise<void>;
  /** Resolves once every audit record so far is written to the file. */
  flushAudit(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Loads and checks the configuration and policies (throwing ConfigError / PolicyError with file,
 * line and fix), opens the approval store and audit log, and returns the handler.
 */
export function createFirewall(options: FirewallOptions): Firewall {
  // Swapped together by reload(); every closure below reads the current ones.
  let { config, policies, limits, everyone } = loadGeneration(options);
  const redactor = config.redactor; // one redactor for the process: secrets of every generation stay redacted
  const log = createLogger(config.logLevel, redactor);
  const store = new SqliteApprovalStore(config.dataDir);
  const metrics = new Metrics({ pending: () => store.pendingCount(), auditHealthy: () => rawAudit.healthy() });
  const rawAudit = createAuditLog({
    ...config.audit,
    redactor,
    onError: (err) => log.error('audit log write failed: refusing every request until restart', { cause: String(err) }),
    onWarning: (err) => log.warn('audit log warning', { cause: String(err) }),
  });
  const audit = countedAudit(rawAudit, metrics);
  const agent = upstreamAgent(config.upstream);
  // Every call to WeCom goes through one guard: retries, the circuit breaker, 45009 cooldowns.
  const guard = new UpstreamGuard(config.upstream, config.resilience, new Cooldowns());
  guard.on('circuit', (state) => {
    metrics.setCircuit(config.upstream.origin, state);
    // An alert message could not get through an open circuit: the error log and the metric are the alert.
    if (state === 'open') log.error('WeCom is failing: circuit open, requests are refused until a probe succeeds', { upstream: config.upstream.origin });
    else if (state === 'closed') log.info('WeCom answers again: circuit closed', { upstream: config.upstream.origin });
  });
  const proxy = new UpstreamProxy(config.upstream, agent, config.upstreamTimeoutMs, guard);
  const apps = new AppClient(config.upstream, agent, config.upstreamTimeoutMs, config.redactor, guard);
  const robotSend = (alias: string, path: string, body: Buffer, contentType: string) =>
    guard.call({ target: `robot:${alias}` }, () => requestUpstream(config.upstream, agent, { method: 'POST', path, body, contentType }, config.upstreamTimeoutMs));
  // An approved record goes out with the real credential of its robot or app, looked up at send time.
  // A 45009 cooldown or an open circuit refuses at once (certainly unsent); the delivery schedule
  // (approvals/delivery.ts) tries again when they are over.
  const deliver = async (record: Approval): Promise<UpstreamAnswer> => {
    if (record.route.startsWith('bot.')) return bots.deliver(record);
    const [path = '', query = ''] = record.target.split('?');
    if (record.route.startsWith('app.')) {
      const app = config.apps.get(record.robot);
      if (!app) throw new FirewallError('INTERNAL', `app ${record.robot} is no longer configured; not sent`);
      return apps.call(app, record.method, path, query, record.method === 'POST' ? record.payload : undefined, record.contentType);
    }
    const robot = config.robots.get(record.robot);
    if (!robot) throw new FirewallError('INTERNAL', `robot ${record.robot} is no longer configured; not sent`);
    return robotSend(robot.alias, upstreamPath(path, robot.key, query), record.payload, record.contentType);
  };
  /** Posts the firewall's own message (a card, a heartbeat, an alert) through a robot with its real key. */
  const postAs = (alias: string, body: object) => {
    const robot = config.robots.get(alias);
    if (!robot) return Promise.reject(new Error(`robot ${alias} is not configured`));
    return robotSend(alias, upstreamPath('/cgi-bin/webhook/send', robot.key, ''), Buffer.from(JSON.stringify(body)), 'application/json');
  };
  const tokenKey = loadTokenKey(config.dataDir);
  const publicUrl = config.admin?.publicUrl;
  const links = new ApprovalLinks(tokenKey, publicUrl, () => config.approvals.notify?.linkTtlMs ?? 0);
  // The card goes through the notify robot the current config names.
  const notify = (record: Approval) => {
    const notifyRobot = config.approvals.notify && config.robots.get(config.approvals.notify.robot);
    if (!notifyRobot || !publicUrl) return Promise.resolve();
    return createNotifier({
      links,
      consoleUrl: `${publicUrl}/console/`,
      redact: (text) => redactor.redact(text),
      take: () => limits.take({ caller: 'system:notify', target: { kind: 'robot', name: notifyRobot.alias } }, 0),
      post: (body) => postAs(notifyRobot.alias, body),
      audit,
      log,
      robot: notifyRobot.alias,
    })(record);
  };
  const approvals = new Approvals({
    store,
    audit,
    deliver,
    notify,
    log,
    cooldownLeftMs: (target) => guard.cooldowns.remainingMs(target),
    get deliverWithinMs() {
      return config.approvals.deliverWithinMs;
    },
    get limits() {
      return limits;
    },
    get ttlMs() {
      return config.approvals.ttlMs;
    },
    get approvers() {
      return config.approvals.approvers;
    },
    get everyone() {
      return everyone;
    },
    get maxPending() {
      return config.approvals.maxPending;
    },
    get keepDecidedMs() {
      return config.approvals.keepDecidedMs;
    },
  });
  const warnUnapprovable = () => {
    if (!config.admin && (policies.rules.some((r) => r.action === 'approve') || policies.defaultDecision.action === 'approve')) {
      log.warn('no admin: section: parked messages cannot be approved and will expire unsent');
    }
  };
  warnUnapprovable();
  const minted = new MintedTokens(tokenKey, { get: (name) => config.apps.get(name) });
  // One pipeline for every transport: policies, limits, approvals, repeats.
  const pipeline = createPipeline({
    policies: () => policies,
    get limits() {
      return limits;
    },
    approvals,
    audit,
    log,
    dedupe: config.dedupe.enabled ? new Dedupe<Remembered>(config.dedupe) : undefined,
  });
  const handle = createHttpHandler({
    get config() {
      return config;
    },
    get limits() {
      return limits;
    },
    audit,
    log,
    pipeline,
    proxy,
    apps,
    minted,
  });
  const bots = new BotChannel({ config: () => config, pipeline, approvals, audit, log, metrics });
  if (config.admin?.allowPublic) {
    log.warn('admin.allowPublic: the approvals console and API may be bound beyond loopback; only bearer tokens guard them', { listen: `${config.admin.listen.host}:${config.admin.listen.port}`, tls: config.admin.tls ? 'on' : 'off: tokens and pending messages cross the network in clear' });
  }
  const admin = config.admin ? createAdminApp({ approvals, authenticate: createAuthenticator(config.admin, links), redactor, log, metrics }) : undefined;
  const heartbeat =
    config.heartbeat &&
    startHeartbeat(config.heartbeat, {
      take: (robot) => limits.take({ caller: 'system:heartbeat', target: { kind: 'robot', name: robot } }, 0),
      postAs,
      audit,
      log,
      metrics,
      redact: (text) => redactor.redact(text),
    });
  const ready = createReadiness({ storeWritable: () => store.writable(), upstream: config.upstream, circuitOpen: () => guard.circuitOpen() });

  // Known-good policy sets are kept for `policy rollback`; failing to keep one is not a reason to stop.
  const keepSet = () => {
    try {
      return saveSet(config.dataDir, config.policies, policies.sources, config.reload.keep);
    } catch (err) {
      log.warn('could not save the policy set for rollback', { cause: String(err) });
      return undefined;
    }
  };
  keepSet();

  const reload = (): ReloadResult => {
    try {
      const next = loadGeneration(options, { config, policies, limits, everyone });
      const fixed = restartOnlyChanges(config, next.config);
      if (fixed.length) throw new ConfigError(fixed.map((key) => `${key}: changed; this setting needs a restart (nothing was reloaded)`));
      redactor.merge(next.config.redactor);
      next.config.redactor = redactor;
      ({ config, policies, limits, everyone } = next);
      log.level = config.logLevel;
      bots.reloaded();
      warnUnapprovable();
      const savedAs = keepSet();
      metrics.reloads.inc({ result: 'ok' });
      log.info('config and policies reloaded', { policy_files: policies.files.length, rules: policies.rules.length, saved_as: savedAs ?? 'unchanged' });
      return { ok: true, policyFiles: policies.files.length, rules: policies.rules.length, savedAs };
    } catch (err) {
      const problems = err instanceof ConfigError || err instanceof PolicyError ? err.problems : [String((err as Error).message ?? err)];
      metrics.reloads.inc({ result: 'refused' });
      log.error('reload refused: the last good config and policies stay in force', { problems });
      return { ok: false, problems };
    }
  };
  const stopWatching = config.reload.watch ? watchSources() : () => undefined;
  function watchSources() {
    const paths = config.policies;
    const isDir = (p: string) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    };
    const files = [...('configFile' in options ? [options.configFile] : []), ...paths.filter((p) => !isDir(p))];
    return watchFiles(files, paths.filter(isDir), () => void reload());
  }

  const resumed = approvals.resume().then(
    ({ scheduled, interrupted, heldExpired }) => {
      if (scheduled || interrupted || heldExpired) log.info('approvals resumed after a restart', { approved_to_deliver: scheduled, interrupted_sends_failed: interrupted, held_expired: heldExpired });
    },
    (err: unknown) => log.error('resuming approved messages failed', { cause: String(err) }),
  );
  // Erase the payloads of long-decided records now and hourly (the record and its digest stay).
  const purge = () => {
    try {
      approvals.purge();
    } catch (err) {
      log.error('erasing decided payloads failed', { cause: String(err) });
    }
  };
  purge();
  const purger = setInterval(purge, 60 * 60_000).unref();
  let closed = false;
  const firewall = ((req: http.IncomingMessage, res: http.ServerResponse) => handle(req, res)) as Firewall;
  Object.defineProperty(firewall, 'config', { get: () => config, enumerable: true });
  Object.assign(firewall, {
    admin,
    resumed,
    metrics,
    audit: { record: (r: AuditRecord) => audit.record(r), healthy: () => audit.healthy() },
    log,
    heartbeat,
    healthy: () => !closed && audit.healthy() && store.healthy(),
    ready,
    reload,
    upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => bots.upgrade(req, socket, head),
    settleHolds: () => {
      bots.closeSockets(); // agents reconnect after the restart; deliveries under way still finish
      return approvals.close();
    },
    flushAudit: () => audit.flush(),
    close: async () => {
      if (closed) return;
      closed = true;
      stopWatching();
      clearInterval(purger);
      await heartbeat?.stop();
      await resumed; // never close the store under a send in progress
      bots.closeSockets();
      await approvals.close(); // held requests answered 503 and expired; sends under way finished
      bots.close();
      proxy.close();
      agent.destroy();
      await audit.close();
      store.close();
    },
  });
  return firewall;
}
