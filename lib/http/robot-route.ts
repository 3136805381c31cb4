import { createHash } from 'node:crypto';
import { FirewallError } from '../errors.js';
import { upstreamPath } from '../upstream/agent.js';
import { assertBodyUnread, readBody } from '../request/body.js';
import { checkJsonContentType, parseMessage } from '../request/parse-message.js';
import { parseUpload, uploadType } from '../request/parse-upload.js';
import type { RequestContext } from './context.js';
import { judge } from './judge.js';
import { deduplicated } from './dedupe-route.js';
import { auditAttempts, auditUpstreamFailure, spending } from '../upstream/outcome.js';

// Group robots: webhook/send and upload_media. The alias becomes the real key only on the upstream
// request, after the policies allowed exactly the bytes that are sent.

export function robotRoute(sendPaths: Map<string, string>) {
  return async (ctx: RequestContext): Promise<void> => {
    const { req, res, routed, record, deps } = ctx;
    const { config } = deps;
    const robot = config.robots.get(routed.credential);
    if (!robot) {
      // Never echo or log the unknown alias itself: an agent may have sent a real key here.
      record.what.robot = `unknown:${createHash('sha256').update(routed.credential).digest('hex').slice(0, 12)}`;
      throw new FirewallError('UNKNOWN_ROBOT', 'no robot with this alias is configured');
    }
    record.what.robot = robot.alias;
    assertBodyUnread(req);

    let parsed: { msgtype?: string; payload: unknown; canonical: Buffer; contentType: string; identity?: Buffer };
    let query = '';
    if (routed.route === 'webhook.send') {
      checkJsonContentType(req.headers['content-type']);
      parsed = { ...parseMessage(await readBody(req, config.limits.maxBodyBytes)), contentType: 'application/json; charset=utf-8' };
    } else {
      // The upstream query is rebuilt from the one type the policies saw; nothing else passes.
      const type = uploadType(routed.query, 'file or type=voice');
      query = new URLSearchParams({ type }).toString();
      parsed = { ...(await parseUpload(req, type, config.limits.maxUploadBytes)), msgtype: type };
    }

    const target = { kind: 'robot' as const, name: robot.alias };
    const request = { route: routed.route, path: routed.path, robot: robot.alias, caller: ctx.caller, msgtype: parsed.msgtype, payload: parsed.payload };
    await deduplicated(ctx, parsed.canonical, robot.alias, async () => {
      if ((await judge(ctx, request, target, { bytes: parsed.canonical, contentType: parsed.contentType, upstreamQuery: query })) === 'parked') return;

      const tokens = await deps.limits.take({ caller: ctx.caller, target });
      record.decision = 'forwarded';
      const path = query ? upstreamPath(routed.path, robot.key, query) : sendPaths.get(robot.alias)!;
      try {
        const result = await spending(tokens, () => deps.proxy.forward(req, res, path, parsed.canonical, parsed.contentType, `robot:${robot.alias}`));
        record.upstream_status = result.status;
        record.upstream_errcode = result.errcode;
        auditAttempts(record, result.attempts);
      } catch (err) {
        throw auditUpstreamFailure(record, err);
      }
    }, parsed.identity);
  };
}
