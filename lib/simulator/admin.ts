import { authorize, jsonObject, type AppRequest, type AppResult, type AppRoute } from './app-request.js';
import type { Verdict } from './shape.js';
import type { SimulatorState } from './state.js';
import { parseJsonBody } from './webhook.js';

// Destructive or privilege-changing endpoints that share the app token. The firewall parks them,
// so the simulator only has to show whether a call got through: each checks the token (and, for
// the JSON ones, the method and that the body is a JSON object), answers WeCom's success errmsg,
// and records the call. No directory state changes, and fields such as userid are not checked.

const ADMIN_BODY_CAP = 1024 * 1024;

interface AdminEndpoint {
  /** Query-parameter endpoints are GET in the API; POST is accepted too because clients send it. */
  json: boolean;
  /** WeCom's errmsg on success. */
  errmsg: string;
}

const ENDPOINTS: ReadonlyArray<[string, AdminEndpoint]> = [
  ['/cgi-bin/user/delete', { json: false, errmsg: 'deleted' }],
  ['/cgi-bin/user/batchdelete', { json: true, errmsg: 'deleted' }],
  ['/cgi-bin/user/update', { json: true, errmsg: 'updated' }],
  ['/cgi-bin/tag/addtagusers', { json: true, errmsg: 'ok' }],
  ['/cgi-bin/tag/deltagusers', { json: true, errmsg: 'deleted' }],
  ['/cgi-bin/agent/set', { json: true, errmsg: 'ok' }],
  ['/cgi-bin/department/delete', { json: false, errmsg: 'deleted' }],
];

export const ADMIN_ROUTES: ReadonlyArray<[string, AppRoute]> = ENDPOINTS.map(([path, endpoint]) => [
  path,
  { bodyCap: ADMIN_BODY_CAP, handle: (request: AppRequest, state: SimulatorState) => adminCall(endpoint, request, state) },
]);

function adminCall(endpoint: AdminEndpoint, request: AppRequest, state: SimulatorState): AppResult {
  const parsed = parseJsonBody(request.body);
  const auth = authorize(request, state);
  const verdict: Verdict = auth.verdict ?? (endpoint.json ? jsonVerdict(request, parsed) : queryVerdict(request)) ?? { errcode: 0 };
  const query = Object.fromEntries([...request.query].filter(([name]) => name !== 'access_token'));
  state.app.recordAdminCall({
    path: request.path,
    method: request.method,
    query,
    body: parsed.problem ? null : parsed.json,
    agentId: auth.app?.agentId ?? null,
    errcode: verdict.errcode,
    at: request.now,
  });
  // A successful answer overrides errmsg: WeCom says "deleted" / "updated" here, not "ok".
  return { verdict, extra: verdict.errcode === 0 ? { errmsg: endpoint.errmsg } : undefined };
}

function jsonVerdict(request: AppRequest, parsed: ReturnType<typeof parseJsonBody>): Verdict | undefined {
  const json = jsonObject(request, parsed);
  return 'verdict' in json ? json.verdict : undefined;
}

/** Only GET and POST reach a CGI; anything else is treated like a POST endpoint called with GET. */
function queryVerdict(request: AppRequest): Verdict | undefined {
  return request.method === 'GET' || request.method === 'POST' ? undefined : { errcode: 40058, detail: 'GET or POST method required' };
}
