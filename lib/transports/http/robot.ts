import { createHash } from 'node:crypto';
import { FirewallError } from '../../errors.js';
import { upstreamPath } from '../../upstream/agent.js';
import { assertBodyUnread, readBody } from '../../request/body.js';
import { checkJsonContentType, parseMessage } from '../../request/parse-message.js';
import { parseUpload, uploadType } from '../../request/parse-upload.js';
import type { Outcome } from '../../pipeline/request.js';
import { requestOf, type HttpContext } from './context.js';
import { dedupeOf } from './idempotency.js';

// Group robots: webhook/send and upload_media. The alias becomes the real key only on the upstream
// request, after the policies allowed exactly the bytes that are sent.

/** `sendPaths`: each robot's webhook/send path with its real key, built once per config. */
export async function robotRoute(ctx: HttpContext, sendPaths: Map<string, string>): Promise<Outcome> {
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
  const path = query ? upstreamPath(routed.path, robot.key, query) : sendPaths.get(robot.alias)!;
  const request = requestOf(ctx, {
    target: { kind: 'robot', name: robot.alias },
    msgtype: parsed.msgtype,
    payload: parsed.payload,
    bytes: parsed.canonical,
    contentType: parsed.contentType,
    upstreamQuery: query,
    dedupe: dedupeOf(req, config.dedupe.enabled, parsed.identity),
  });
  return deps.pipeline(request, () => deps.proxy.forward(req, res, path, parsed.canonical, parsed.contentType, `robot:${robot.alias}`));
}
