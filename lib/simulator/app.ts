import { ADMIN_ROUTES } from './admin.js';
import { checkAppUpload, contentDisposition, contentTypeOf, isAppMediaType, UPLOAD_MAX_BYTES } from './app-media.js';
import { authorize, requirePost, type AppRequest, type AppResult, type AppRoute } from './app-request.js';
import { APPCHAT_SEND_PATH, appchatSend, MESSAGE_SEND_PATH, messageSend } from './app-send.js';
import { parseMediaPart } from './multipart.js';
import { invalid, OK } from './shape.js';
import type { SimulatorState } from './state.js';

// The self-built-application API: gettoken, the two send endpoints, temporary media and the
// privileged endpoints the firewall parks. Every answer is HTTP 200 with an errcode, except
// media/get's file.

const QUERY_BODY_CAP = 64 * 1024;
// A send body has at most 1000 userids and a 2048-byte content; mpnews content may reach 666 KB.
const SEND_BODY_CAP = 4 * 1024 * 1024;
// The largest medium (a 20 MB file) plus multipart framing. Past it the upload is answered 45001.
const UPLOAD_BODY_CAP = UPLOAD_MAX_BYTES + 1024 * 1024;

export const GETTOKEN_PATH = '/cgi-bin/gettoken';
export const MEDIA_UPLOAD_PATH = '/cgi-bin/media/upload';
export const MEDIA_GET_PATH = '/cgi-bin/media/get';

export const APP_ROUTES: ReadonlyMap<string, AppRoute> = new Map<string, AppRoute>([
  [GETTOKEN_PATH, { bodyCap: QUERY_BODY_CAP, handle: getToken }],
  [MESSAGE_SEND_PATH, { bodyCap: SEND_BODY_CAP, handle: messageSend }],
  [APPCHAT_SEND_PATH, { bodyCap: SEND_BODY_CAP, handle: appchatSend }],
  [MEDIA_UPLOAD_PATH, { bodyCap: UPLOAD_BODY_CAP, handle: mediaUpload }],
  [MEDIA_GET_PATH, { bodyCap: QUERY_BODY_CAP, handle: mediaGet }],
  ...ADMIN_ROUTES,
]);

/**
 * Every request counts toward tokenRequests(), even one answered with an error. A fault comes
 * first; then corpid (missing 41002, unknown 40013) and corpsecret (missing 41004, wrong 40001).
 * WeCom checks both presences before either value (unconfirmed); any method is accepted because
 * the parameters are in the query. WeCom also throttles gettoken itself; the simulator does not.
 */
function getToken(request: AppRequest, state: SimulatorState): AppResult {
  state.app.countTokenRequest();
  const fault = state.faults.take(request.path);
  if (fault !== undefined) return { verdict: { errcode: fault } };
  const corpId = request.query.get('corpid');
  const corpSecret = request.query.get('corpsecret');
  if (!corpId) return { verdict: { errcode: 41002 } };
  if (!corpSecret) return { verdict: { errcode: 41004 } };
  const credentials = state.app.apps.authenticate(corpId, corpSecret);
  if ('errcode' in credentials) return { verdict: { errcode: credentials.errcode } };
  const { token, expiresIn } = state.app.tokens.issue(credentials.app, request.now);
  return { verdict: OK, extra: { access_token: token, expires_in: expiresIn } };
}

/**
 * type missing or not image/voice/video/file 40005 ("invalid type"), body not multipart 40058,
 * no `media` part 44001, then checkAppUpload's size and format rules.
 */
async function mediaUpload(request: AppRequest, state: SimulatorState): Promise<AppResult> {
  const auth = authorize(request, state);
  if (!auth.app) return { verdict: auth.verdict };
  const methodProblem = requirePost(request);
  if (methodProblem) return { verdict: methodProblem };
  const type = request.query.get('type');
  if (!isAppMediaType(type)) return { verdict: { errcode: 40005, detail: 'type must be image, voice, video or file' } };
  if (!request.body) return { verdict: { errcode: 45001 } };
  const parsed = await parseMediaPart(request.headers, request.body);
  if (!parsed.ok) return { verdict: invalid('media must be sent as multipart/form-data') };
  if (!parsed.media) return { verdict: { errcode: 44001 } };
  const { filename, bytes } = parsed.media;
  const verdict = checkAppUpload(type, bytes);
  if (verdict.errcode !== 0) return { verdict };
  const mediaId = state.app.media.issue({ corpId: auth.app.corpId, type, filename, bytes, createdAt: request.now });
  return { verdict: OK, extra: { type, media_id: mediaId, created_at: String(Math.floor(request.now / 1000)) } };
}

/** media_id missing 41006; unknown, expired or another corp's 40007 (JSON, HTTP 200); else the bytes. */
function mediaGet(request: AppRequest, state: SimulatorState): AppResult {
  const auth = authorize(request, state);
  if (!auth.app) return { verdict: auth.verdict };
  const mediaId = request.query.get('media_id');
  if (!mediaId) return { verdict: { errcode: 41006 } };
  const media = state.app.media.find(auth.app.corpId, mediaId, request.now);
  if (!media) return { verdict: { errcode: 40007 } };
  return { verdict: OK, file: { bytes: media.bytes, contentType: contentTypeOf(media), disposition: contentDisposition(media, mediaId) } };
}
