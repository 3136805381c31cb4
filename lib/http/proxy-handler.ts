import type http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { FirewallError, POLICY_ERRCODES } from '../errors.js';
import type { ResolvedConfig } from '../config/load.js';
import type { PolicySet } from '../policy/compile.js';
import type { Decision, PolicyRequest } from '../policy/types.js';
import type { Limits } from '../limits/limiter.js';
import type { Approvals } from '../approvals/service.js';
import type { AuditLog, AuditRecord } from '../audit/audit.js';
import type { UpstreamProxy } from '../upstream/proxy.js';
import type { Logger } from 'winston';
import { upstreamPath } from '../upstream/agent.js';
import { routeRequest } from '../request/route.js';
import { assertBodyUnread, readBody } from '../request/body.js';
import { checkJsonContentType, parseMessage } from '../request/parse-message.js';
import { parseUpload } from '../request/parse-upload.js';
import { peerAddress, sendError, sendJson } from './respond.js';

// The request path at the edge: route → robot → body → policies → limits → forward or park.
// Everything before the forward can refuse; nothing is forwarded unless a policy allowed it.

export interface ProxyHandlerDeps {
  config: ResolvedConfig;
  policies: () => PolicySet;
  limits: Limits;
  approvals: Approvals;
  audit: AuditLog;
  proxy: UpstreamProxy;
  log: Logger;
}

export type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createProxyHandler(deps: ProxyHandlerDeps): NodeHandler {
  const { config, limits, approvals, audit, proxy, log } = deps;
  // The upstream send path of each robot, built once: it carries the real key.
  const sendPaths = new Map([...config.robots.values()].map((r) => [r.alias, upstreamPath('/cgi-bin/webhook/send', r.key)]));
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
      const robot = config.robots.get(routed.alias);
      if (!robot) {
        // Never echo or log the unknown alias itself: an agent may have sent a real key here.
        record.what.robot = `unknown:${createHash('sha256').update(routed.alias).digest('hex').slice(0, 12)}`;
        throw new FirewallError('UNKNOWN_ROBOT', 'no robot with this alias is configured');
      }
      record.what.robot = robot.alias;

      const isSend = routed.route === 'webhook.send';
      assertBodyUnread(req);
      let parsed: { msgtype?: string; payload: unknown; canonical: Buffer; contentType: string };
      let query = '';
      if (isSend) {
        checkJsonContentType(req.headers['content-type']);
        parsed = { ...parseMessage(await readBody(req, config.limits.maxBodyBytes)), contentType: 'application/json; charset=utf-8' };
      } else {
        // The upstream query is rebuilt from the one type the policies saw; nothing else passes.
        const types = routed.query.getAll('type');
        if (types.length !== 1 || !types[0]) throw new FirewallError('INVALID_PAYLOAD', 'pass type=file or type=voice, once');
        query = new URLSearchParams({ type: types[0] }).toString();
        parsed = { ...(await parseUpload(req, types[0], config.limits.maxUploadBytes)), msgtype: types[0] };
      }
      record.what.msgtype = parsed.msgtype;
      record.what.size = parsed.canonical.length;
      record.what.sha256 = createHash('sha256').update(parsed.canonical).digest('hex');

      const policyRequest: PolicyRequest = { route: routed.route, path: routed.path, robot: robot.alias, caller, msgtype: parsed.msgtype, payload: parsed.payload };
      const decision = decide(deps.policies(), policyRequest);
      record.why = { rule: decision.rule, pack: decision.pack, reason: decision.reason };

      if (decision.action === 'reject') {
        const code = POLICY_ERRCODES[decision.errcode ?? 9900001] ?? 'POLICY_REJECTED';
        throw new FirewallError(code, `rule ${decision.rule}: ${decision.reason}${decision.detail ? ` (${decision.detail})` : ''}`, { errcode: decision.errcode });
      }
      if (decision.action === 'approve') {
        // Parking spends the caller's and the global tokens (not the robot's: nothing is sent yet),
        // so an agent cannot fill the approval queue faster than it could post.
        await limits.take(undefined, caller);
        const approval = approvals.park({
          requestId,
          route: routed.route,
          target: query ? `${routed.path}?${query}` : routed.path,
          robot: robot.alias,
          caller,
          msgtype: parsed.msgtype,
          payload: parsed.canonical,
          contentType: parsed.contentType,
          rule: decision.rule,
          reason: decision.reason,
        });
        record.decision = 'parked';
        record.what.approval_id = approval.id;
        sendJson(res, 202, { errcode: 0, errmsg: 'pending approval', approval_id: approval.id, request_id: requestId });
        return;
      }
      await limits.take(robot.alias, caller);
      record.decision = 'forwarded';
      try {
        const path = isSend ? sendPaths.get(robot.alias)! : upstreamPath(routed.path, robot.key, query);
        const result = await proxy.forward(req, res, path, parsed.canonical, parsed.contentType);
        record.upstream_status = result.status;
        record.upstream_errcode = result.errcode;
      } catch (err) {
        record.decision = 'upstream_error';
        if (res.destroyed) record.why = { ...record.why, reason: 'the agent disconnected before WeCom answered; WeCom may have received the message' };
        throw new FirewallError('UPSTREAM_UNAVAILABLE', undefined, { cause: err });
      }
    };

    run()
      .catch((err: unknown) => {
        const fe = sendError(res, err, requestId, config.redactor);
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

/** Policies are compiled code over untrusted input: if one throws, refuse (fail closed). */
function decide(policies: PolicySet, req: PolicyRequest): Decision {
  try {
    return policies.decide(req);
  } catch (err) {
    throw new FirewallError('INTERNAL', 'policy evaluation failed; the request was not forwarded', { cause: err });
  }
}
