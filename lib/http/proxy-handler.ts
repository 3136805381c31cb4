import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { FirewallError } from '../errors.js';
import type { AuditRecord } from '../audit/audit.js';
import { upstreamPath } from '../upstream/agent.js';
import { routeRequest } from '../request/route.js';
import type { ProxyHandlerDeps, RequestContext } from './context.js';
import { robotRoute } from './robot-route.js';
import { appRoute, gettokenRoute } from './app-route.js';
import { peerAddress, sendError } from './respond.js';

// The request path at the edge: route → credential → body → policies → limits → forward or park.
// Everything before the forward can refuse; nothing is forwarded unless a policy allowed it. Every
// request, whatever happens to it, leaves one audit record.

export type { ProxyHandlerDeps } from './context.js';
export type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createProxyHandler(deps: ProxyHandlerDeps): NodeHandler {
  const { audit, log } = deps;
  // The upstream send path of each robot, built once per config (a reload brings a new one): it carries the real key.
  let builtFor: ProxyHandlerDeps['config'] | undefined;
  let robot: ReturnType<typeof robotRoute>;
  const robotFor = () => {
    if (builtFor !== deps.config) {
      builtFor = deps.config;
      robot = robotRoute(new Map([...builtFor.robots.values()].map((r) => [r.alias, upstreamPath('/cgi-bin/webhook/send', r.key)])));
    }
    return robot;
  };

  return (req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    const caller = peerAddress(req);
    const record: AuditRecord = { decision: 'rejected', request_id: requestId, who: caller, what: {} };

    const run = async () => {
      if (!audit.healthy()) throw new FirewallError('AUDIT_UNAVAILABLE', 'nothing is forwarded or parked unaudited');
      const routed = routeRequest(req.method ?? '', req.url ?? '/');
      record.what.route = routed.route;
      const ctx: RequestContext = { req, res, requestId, caller, record, routed, deps };
      if (routed.kind === 'robot') return robotFor()(ctx);
      if (routed.kind === 'token') return gettokenRoute(ctx);
      return appRoute(ctx);
    };

    run()
      .catch((err: unknown) => {
        const fe = sendError(res, err, requestId, deps.config.redactor);
        // Our own failures are logged with their cause; the agent's answer carries only the code.
        if (fe.status >= 500) log.error('request refused by a failure', { request_id: requestId, code: fe.code, cause: String(fe.cause ?? '') });
        if (record.decision !== 'upstream_error') record.decision = fe.code === 'RATE_LIMITED' || fe.code === 'TOO_MANY_PENDING' ? 'rate_limited' : 'rejected';
        record.errcode = fe.errcode;
        if (!record.why) record.why = { reason: fe.message };
      })
      .finally(() => {
        record.latency_ms = Math.round((performance.now() - started) * 100) / 100;
        audit.record(record);
      });
  };
}
