import type http from 'node:http';
import type express from 'express';
import { loadConfigFile, resolveConfig, type FirewallConfigInput, type ResolvedConfig } from './config/load.js';
import { PolicySet } from './policy/compile.js';
import { Limits } from './limits/limiter.js';
import { RecipientLimits } from './limits/recipients.js';
import { SqliteApprovalStore } from './approvals/sqlite-store.js';
import { Approvals } from './approvals/service.js';
import { ApprovalLinks } from './approvals/links.js';
import { createNotifier } from './approvals/notify.js';
import { createAuditLog } from './audit/audit.js';
import { upstreamAgent, upstreamPath } from './upstream/agent.js';
import { requestUpstream } from './upstream/send.js';
import { AppClient } from './apps/client.js';
import { MintedTokens, loadTokenKey } from './apps/minted-tokens.js';
import type { Approval } from './approvals/store.js';
import { FirewallError } from './errors.js';
import { UpstreamProxy } from './upstream/proxy.js';
import { createProxyHandler } from './http/proxy-handler.js';
import { createAdminApp } from './http/admin.js';
import { createAuthenticator } from './http/auth.js';
import { createLogger } from './log.js';

export type FirewallOptions =
  | { configFile: string; env?: NodeJS.ProcessEnv }
  | { config: FirewallConfigInput; baseDir?: string; env?: NodeJS.ProcessEnv };

/** An Express-mountable (or plain node:http) handler for the WeCom paths, plus its admin app. */
export interface Firewall {
  (req: http.IncomingMessage, res: http.ServerResponse, next?: unknown): void;
  readonly config: ResolvedConfig;
  /** The admin API (approvals) as an Express app, for a listener of its own; undefined without `admin:`. */
  readonly admin?: express.Express;
  /** Settles once approved messages left unsent by a previous run have been sent (see Approvals.resume). */
  readonly resumed: Promise<void>;
  /** true once config, policies and store are loaded and the store answers. */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * Loads and checks the configuration and policies (throwing ConfigError / PolicyError with file,
 * line and fix), opens the approval store and audit log, and returns the handler.
 */
export function createFirewall(options: FirewallOptions): Firewall {
  const config =
    'configFile' in options ? loadConfigFile(options.configFile, options.env) : resolveConfig(options.config, { baseDir: options.baseDir, env: options.env });
  const log = createLogger(config.logLevel, config.redactor);
  const policies = new PolicySet(config.policies, { robots: config.robots.keys(), apps: config.apps.keys(), groups: config.approvals.groups, defaultApprovers: config.approvals.approvers });
  const everyone = new Set([...config.approvals.approvers, ...[...config.approvals.groups.values()].flat(), ...policies.rules.flatMap((r) => r.approval?.approvers ?? [])]);
  const store = new SqliteApprovalStore(config.dataDir);
  const audit = createAuditLog({ ...config.audit, redactor: config.redactor, onError: (err) => log.error('audit log write failed: refusing every request until restart', { cause: String(err) }) });
  const limits = new Limits(config.limits, [
    ...[...config.robots.values()].map((r) => ({ kind: 'robot' as const, name: r.alias, limit: r.limit })),
    ...[...config.apps.values()].map((a) => ({ kind: 'app' as const, name: a.name, limit: a.limit })),
  ]);
  const agent = upstreamAgent(config.upstream);
  const proxy = new UpstreamProxy(config.upstream, agent, config.upstreamTimeoutMs);
  const apps = new AppClient(config.upstream, agent, config.upstreamTimeoutMs, config.redactor);
  // An approved record goes out with the real credential of its robot or app, looked up at send time.
  const deliver = async (record: Approval) => {
    const [path = '', query = ''] = record.target.split('?');
    if (record.route.startsWith('app.')) {
      const app = config.apps.get(record.robot);
      if (!app) throw new FirewallError('INTERNAL', `app ${record.robot} is no longer configured; not sent`);
      return apps.call(app, record.method, path, query, record.method === 'POST' ? record.payload : undefined, record.contentType);
    }
    const robot = config.robots.get(record.robot);
    if (!robot) throw new FirewallError('INTERNAL', `robot ${record.robot} is no longer configured; not sent`);
    return requestUpstream(config.upstream, agent, { method: 'POST', path: upstreamPath(path, robot.key, query), body: record.payload, contentType: record.contentType }, config.upstreamTimeoutMs);
  };
  const tokenKey = loadTokenKey(config.dataDir);
  const publicUrl = config.admin?.publicUrl;
  const links = new ApprovalLinks(tokenKey, publicUrl, config.approvals.notify?.linkTtlMs ?? 0);
  const notifyRobot = config.approvals.notify && config.robots.get(config.approvals.notify.robot);
  const notify =
    notifyRobot && publicUrl
      ? createNotifier({
          links,
          consoleUrl: `${publicUrl}/console/`,
          redact: (text) => config.redactor.redact(text),
          take: () => limits.take({ kind: 'robot', name: notifyRobot.alias }, 'system:notify', 0),
          post: (body) => requestUpstream(config.upstream, agent, { method: 'POST', path: upstreamPath('/cgi-bin/webhook/send', notifyRobot.key, ''), body, contentType: 'application/json' }, config.upstreamTimeoutMs),
          audit,
          log,
          robot: notifyRobot.alias,
        })
      : undefined;
  const approvals = new Approvals({
    store,
    audit,
    limits,
    deliver,
    ttlMs: config.approvals.ttlMs,
    approvers: config.approvals.approvers,
    everyone,
    maxPending: config.approvals.maxPending,
    notify,
    keepDecidedMs: config.approvals.keepDecidedMs,
  });
  if (!config.admin && (policies.rules.some((r) => r.action === 'approve') || policies.defaultDecision.action === 'approve')) {
    log.warn('no admin: section: parked messages cannot be approved and will expire unsent');
  }
  const minted = new MintedTokens(tokenKey, config.apps);
  const handle = createProxyHandler({ config, policies: () => policies, limits, recipients: new RecipientLimits(), approvals, audit, proxy, apps, minted, log });
  const admin = config.admin ? createAdminApp({ approvals, authenticate: createAuthenticator(config.admin, links), redactor: config.redactor, log }) : undefined;

  const resumed = approvals.resume().then(
    ({ sent, interrupted }) => {
      if (sent || interrupted) log.info('approvals resumed after a restart', { sent, interrupted });
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
  Object.assign(firewall, {
    config,
    admin,
    resumed,
    healthy: () => !closed && audit.healthy() && store.healthy(),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(purger);
      await resumed; // never close the store under a send in progress
      await approvals.drain();
      proxy.close();
      agent.destroy();
      await audit.close();
      store.close();
    },
  });
  return firewall;
}
