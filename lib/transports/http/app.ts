import { FirewallError } from '../../errors.js';
import type { App } from '../../config/load.js';
import { sameSecret } from '../../config/secrets.js';
import { assertBodyUnread, readBody } from '../../request/body.js';
import { canonical, checkJsonContentType, parseJsonObject, parseMessage } from '../../request/parse-message.js';
import { parseUpload, uploadType } from '../../request/parse-upload.js';
import { recipientsOf } from '../../limits/recipients.js';
import { auditUpstreamFailure } from '../../upstream/outcome.js';
import { sendJson } from '../../http/respond.js';
import type { Outcome } from '../../pipeline/request.js';
import { requestOf, type HttpContext } from './context.js';
import { dedupeOf } from './idempotency.js';

// The self-built-app API. Agents hold a client secret and tokens the firewall minted; the real
// corpsecret and WeCom's tokens stay here. Every call is checked like a robot message, then made
// with the real token (fetched, cached, refreshed on 40014/42001 by AppClient).

/** GET /cgi-bin/gettoken?corpid=&corpsecret=<client secret>: answered here, never forwarded as such. */
export async function gettokenRoute(ctx: HttpContext): Promise<void> {
  const { routed, record, deps } = ctx;
  const corpid = routed.query.get('corpid');
  const secret = routed.query.get('corpsecret');
  if (!corpid) throw new FirewallError('MISSING_CORPID');
  if (!secret) throw new FirewallError('MISSING_CORPSECRET');
  (await deps.limits.take({ caller: ctx.caller })).keep(); // guessing client secrets costs the caller's tokens
  const candidates = [...deps.config.apps.values()].filter((a) => a.corpId === corpid);
  if (!candidates.length) throw new FirewallError('INVALID_CORPID');
  const app = candidates.find((a) => sameSecret(a.clientSecret, secret));
  if (!app) throw new FirewallError('INVALID_CREDENTIAL', 'wrong client secret for this corpid'); // refused here: WeCom is not asked
  record.what.robot = `app:${app.name}`;
  try {
    await deps.apps.tokens.get(app); // the firewall's own credentials must work before the agent is told they do
  } catch (err) {
    throw auditUpstreamFailure(record, err);
  }
  const { token, expiresIn } = deps.minted.issue(app);
  deps.config.redactor.add(token);
  record.decision = 'token_issued';
  sendJson(ctx.res, 200, { errcode: 0, errmsg: 'ok', access_token: token, expires_in: expiresIn });
}

/** message/send, appchat/send, media upload/get and the privileged endpoints, with a minted token. */
export async function appRoute(ctx: HttpContext): Promise<Outcome> {
  const { req, routed, record, deps } = ctx;
  const found = deps.minted.lookup(routed.credential);
  if ('error' in found) throw new FirewallError(found.error === 'expired' ? 'EXPIRED_ACCESS_TOKEN' : 'INVALID_ACCESS_TOKEN', 'get a token from /cgi-bin/gettoken on the firewall');
  const { app } = found;
  record.what.robot = `app:${app.name}`;
  assertBodyUnread(req);

  let payload: Record<string, unknown>;
  let msgtype: string | undefined;
  let bytes: Buffer | undefined;
  let contentType = 'application/json; charset=utf-8';
  let identity: Buffer | undefined;
  // A repeated parameter could be read one way by the policies and another by WeCom: refused.
  const keys = [...routed.query.keys()];
  if (new Set(keys).size !== keys.length) throw new FirewallError('INVALID_PAYLOAD', 'a query parameter is repeated');
  // GET calls carry their arguments in the query, which the policies see whole; POST calls carry
  // them in the body, and nothing else in their query reaches WeCom.
  let query = routed.method === 'GET' ? routed.query.toString() : '';
  if (routed.method === 'GET') {
    payload = Object.fromEntries(routed.query);
  } else if (routed.route === 'app.media_upload') {
    // As for robot uploads: one checked `type`, one rebuilt part; nothing else reaches WeCom.
    msgtype = uploadType(routed.query, 'image, voice, video or file');
    const upload = await parseUpload(req, msgtype, deps.config.limits.maxUploadBytes);
    ({ payload } = upload);
    bytes = upload.canonical;
    contentType = upload.contentType;
    identity = upload.identity;
    query = new URLSearchParams({ type: msgtype }).toString();
  } else {
    checkJsonContentType(req.headers['content-type']);
    const body = await readBody(req, deps.config.limits.maxBodyBytes);
    if (routed.route === 'app.admin' || routed.route === 'app.other') {
      payload = parseJsonObject(body);
      bytes = canonical(payload);
    } else {
      const message = parseMessage(body);
      ({ payload, msgtype } = message);
      bytes = message.canonical;
      if (routed.route === 'app.message_send') checkAgentId(payload, app);
    }
  }

  if (!bytes) contentType = '';
  const body = bytes ?? Buffer.alloc(0);
  const request = requestOf(ctx, {
    target: { kind: 'app', name: app.name },
    msgtype,
    payload,
    bytes: body,
    contentType,
    upstreamQuery: query,
    recipients: routed.route === 'app.message_send' ? recipientsOf(payload) : undefined,
    dedupe: dedupeOf(req, deps.config.dedupe.enabled, identity),
  });
  return deps.pipeline(request, () => deps.apps.call(app, routed.method, routed.path, query, bytes, contentType));
}

/** The body's agentid must be its app's, as an integer: a token of one app cannot send as another. */
function checkAgentId(payload: Record<string, unknown>, app: App): void {
  if (payload.agentid !== app.agentId) {
    throw new FirewallError('INVALID_AGENTID', typeof payload.agentid === 'number' ? "agentid is not this token's app" : 'agentid must be an integer');
  }
}
