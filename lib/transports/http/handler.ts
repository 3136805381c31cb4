import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '../../audit/audit.js';
import { upstreamPath } from '../../upstream/agent.js';
import { routeRequest, splitTokenPrefix, type RoutedRequest } from '../../request/route.js';
import { CallerRefused } from '../../callers/identify.js';
import { AgentGone } from '../../upstream/proxy.js';
import { FirewallError } from '../../errors.js';
import type { HttpContext, HttpDeps } from './context.js';
import { robotRoute } from './robot.js';
import { appRoute, gettokenRoute } from './app.js';
import { writeOutcome } from './answer.js';
import { auditRefusal } from '../../pipeline/request.js';
import { sendError } from '../../http/respond.js';
import { throttle, type Throttled } from '../../log-throttle.js';

// The HTTP transport, on `listen` and inside egress tunnels alike: caller → route → credential →
// body, turned into a pipeline Request (lib/pipeline/), whose outcome is written back as WeCom would
// answer. Everything before the forward can refuse; every request, whatever happens to it, leaves
// one audit record.

export type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const LOG_WINDOW_MS = 10_000;
const LOG_BURST = 10;

export function createHttpHandler(deps: HttpDeps): NodeHandler {
  const { audit, log } = deps;
  // Built once per config (a reload brings a new one): the upstream send path of each robot (it
  // carries the real key), and who owns each real credential, to recognise one sent by an agent.
  let builtFor: HttpDeps['config'] | undefined;
  let sendPaths: Map<string, string>;
  let owners: Map<string, string>;
  const refresh = () => {
    if (builtFor !== deps.config) {
      builtFor = deps.config;
      sendPaths = new Map([...builtFor.robots.values()].map((r) => [r.alias, upstreamPath('/cgi-bin/webhook/send', r.key)]));
      owners = new Map([...[...builtFor.robots.values()].map((r) => [r.key, `robot ${r.alias}`] as const), ...[...builtFor.apps.values()].map((a) => [a.corpSecret, `app ${a.name}`] as const)]);
    }
  };
  /**
   * An agent holding a real webhook key (or corpsecret) instead of its alias: it is refused like any
   * unknown alias, and flagged as a leak in the audit and the error log, naming whose it is, never the
   * key itself. The key must be rotated: the agent's configuration had it.
   */
  const flagLeak = (routed: RoutedRequest, record: AuditRecord, requestId: string) => {
    const sent = routed.kind === 'robot' ? routed.credential : routed.kind === 'token' ? routed.query.get('corpsecret') : null;
    if (!sent || (routed.kind === 'robot' && deps.config.robots.has(sent))) return;
    refresh();
    const owner = owners.get(sent);
    if (!owner) return;
    record.why = { rule: 'leaked-key', reason: `the real credential of ${owner} was sent instead of its alias or client secret: rotate it and take it out of the agent's configuration` };
    log.error('leaked key: an agent sent a real WeCom credential to the firewall', { request_id: requestId, caller: record.who, owner });
  };
  // Refused callers, and failures of each code, are logged at most LOG_BURST times per LOG_WINDOW_MS
  // (every one is audited), then counted: an unknown network scanning, or an outage, must not flood
  // the log, and one kind of failure must not hide another.
  const callerLog = throttle(LOG_WINDOW_MS, LOG_BURST, (n) => log.warn('caller refusals not logged in the last window (each is audited)', { suppressed: n }));
  const failureLogs = new Map<string, Throttled>();
  const failureLog = (code: string) => {
    let t = failureLogs.get(code); // codes come from the error table: a bounded set
    if (!t) failureLogs.set(code, (t = throttle(LOG_WINDOW_MS, LOG_BURST, (n) => log.error('failures not logged in the last window (each is audited)', { code, suppressed: n }))));
    return t;
  };
  const logRefusal = (err: CallerRefused, requestId: string) => callerLog(() => log.warn('caller refused', { request_id: requestId, who: err.who, code: err.code, reason: err.reason }));

  return (req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    const record: AuditRecord = { decision: 'rejected', request_id: requestId, who: 'unknown', what: {} };

    const run = async () => {
      // Who is calling comes first: an unknown caller learns nothing, not even whether its path exists.
      // A /t/<token>/ prefix is taken off the URL here, so nothing after this point can see it.
      const prefixed = splitTokenPrefix(req.url ?? '/');
      if (prefixed) req.url = prefixed.url;
      const caller = deps.config.callers.identify(req, prefixed?.token);
      record.who = caller;
      if (!audit.healthy()) throw new FirewallError('AUDIT_UNAVAILABLE', 'nothing is forwarded or parked unaudited');
      const routed = routeRequest(req.method ?? '', req.url ?? '/');
      record.what.route = routed.route;
      if (routed.kind !== 'app') flagLeak(routed, record, requestId);
      const ctx: HttpContext = { req, res, requestId, caller, record, routed, deps };
      refresh();
      if (routed.kind === 'token') return gettokenRoute(ctx);
      writeOutcome(res, await (routed.kind === 'robot' ? robotRoute(ctx, sendPaths) : appRoute(ctx)), deps.config.redactor);
    };

    run()
      .catch((err: unknown) => {
        if (err instanceof CallerRefused) {
          record.who = err.who;
          logRefusal(err, requestId);
        }
        // The agent hung up (its connection closed, or the forward saw it go): nothing to answer, and not our failure.
        const gone = res.destroyed || err instanceof AgentGone || (err instanceof FirewallError && err.cause instanceof AgentGone);
        const fe = sendError(res, err, requestId, deps.config.redactor);
        // Our own failures are logged with their cause; the agent's answer carries only the code.
        if (gone) log.info('the agent disconnected before its answer', { request_id: requestId, code: fe.code });
        else if (fe.status >= 500) failureLog(fe.code)(() => log.error('request refused by a failure', { request_id: requestId, code: fe.code, cause: String(fe.cause ?? '') }));
        auditRefusal(record, fe);
      })
      .finally(() => {
        record.latency_ms = Math.round((performance.now() - started) * 100) / 100;
        audit.record(record);
      });
  };
}
