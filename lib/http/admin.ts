import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FirewallError } from '../errors.js';
import type { Approvals } from '../approvals/service.js';
import type { Approval } from '../approvals/store.js';
import type { Redactor } from '../config/secrets.js';
import type { Logger } from 'winston';
import type { Metrics } from '../metrics/metrics.js';
import type { Authenticate, Identity } from './auth.js';
import type { ApprovalStatus, HistoryQuery } from '../approvals/store.js';
import { loadConsole } from './console-assets.js';
import { sendError, sendJson } from './respond.js';

// The admin listener: the approvals console (static pages, no data in them) and the JSON API it and
// the CLI use. Every API route needs a bearer token whose `sub` is an approver somewhere
// (approvals.approvers, a group, a rule's approvers); deciding a record needs to be among that
// record's approvers. A notification link's token reaches only its own approval.

export interface AdminDeps {
  approvals: Approvals;
  authenticate: Authenticate;
  redactor: Redactor;
  log: Logger;
  metrics: Metrics;
}

type Locals = { requestId: string; identity: Identity };
type AdminResponse = Response<unknown, Locals>;
type Handler = (req: Request, res: AdminResponse, next: NextFunction) => Promise<void> | void;

const asyncRoute = (fn: Handler) => (req: Request, res: AdminResponse, next: NextFunction) => {
  Promise.resolve()
    .then(() => fn(req, res, next))
    .catch(next);
};

export function createAdminApp(deps: AdminDeps): express.Express {
  const { approvals } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const consolePages = loadConsole();
  app.get('/', (_req, res) => res.redirect(302, '/console/'));
  app.get(['/console', '/console/', '/console/approvals/:id'], consolePages.page);
  app.get('/console/:asset', consolePages.asset);
  // For a Prometheus scraper on the private admin network: counts and states only, no tokens, no
  // message content; labels are config names.
  app.get('/metrics', asyncRoute(async (_req, res) => {
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': deps.metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  }));

  app.use(
    asyncRoute(async (req, res, next) => {
      res.locals.requestId = randomUUID();
      res.setHeader('x-request-id', res.locals.requestId);
      const identity = await deps.authenticate(req);
      res.locals.identity = identity;
      // Pending messages can hold anything an agent tried to post: only approvers may read them too.
      if (!approvals.mayUseAdmin(identity.sub)) throw new FirewallError('FORBIDDEN', 'only approvers (approvals.approvers, a group, or a rule\'s approvers) may use the admin API');
      if (identity.link && !linkMayUse(req, identity.link.approvalId)) throw new FirewallError('FORBIDDEN', 'a notification link opens only its own approval; sign in for the rest');
      next();
    }),
  );
  app.use(express.json({ limit: '16kb', type: () => true, strict: true }));

  app.get('/me', (_req, res: AdminResponse) => {
    const { sub, link } = res.locals.identity;
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', sub, via: link ? 'link' : 'jwt', ...(link ? { approval_id: link.approvalId, expires_at: link.expiresAt.toISOString() } : {}) });
  });
  app.get('/approvals', (req, res: AdminResponse) => {
    const query = historyQuery(req.query as Record<string, unknown>);
    const found = approvals.history(query);
    const last = found.length === query.limit ? found[found.length - 1] : undefined;
    const sub = res.locals.identity.sub;
    sendJson(res, 200, {
      errcode: 0,
      errmsg: 'ok',
      approvals: found.map((a) => ({ ...view(a, LIST_PAYLOAD_MAX), may_decide: approvals.mayDecide(a, sub) })),
      ...(last ? { next_before: `${last.createdAt}~${last.id}` } : {}),
    });
  });
  app.get('/approvals/:id', (req, res: AdminResponse) => {
    const found = approvals.get(String(req.params.id));
    if (!found) throw new FirewallError('APPROVAL_NOT_FOUND');
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', approval: { ...view(found), may_decide: approvals.mayDecide(found, res.locals.identity.sub) } });
  });
  const decide = (verdict: 'approve' | 'reject') =>
    asyncRoute(async (req, res) => {
      const body = req.body as { comment?: unknown; sha256?: unknown } | undefined;
      const comment = typeof body?.comment === 'string' ? body.comment.slice(0, 2000) : undefined;
      // The digest of what the approver was shown: the vote counts only for those bytes.
      if (body?.sha256 !== undefined && (typeof body.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(body.sha256))) throw new FirewallError('INVALID_PAYLOAD', 'sha256 must be the 64 hex digits of the message shown');
      const result = await approvals.decide(String(req.params.id), res.locals.identity, verdict, comment, body?.sha256 as string | undefined);
      const shown = { ...view(result), may_decide: approvals.mayDecide(result, res.locals.identity.sub) };
      if (result.status === 'failed') {
        sendJson(res, 502, { errcode: -1, errmsg: 'approved, but sending to WeCom failed', request_id: res.locals.requestId, approval: shown });
      } else sendJson(res, 200, { errcode: 0, errmsg: 'ok', request_id: res.locals.requestId, approval: shown });
    });
  app.post('/approvals/:id/approve', decide('approve'));
  app.post('/approvals/:id/reject', decide('reject'));

  app.use(() => {
    throw new FirewallError('UNKNOWN_PATH');
  });
  app.use((err: unknown, _req: Request, res: AdminResponse, _next: NextFunction) => {
    const type = (err as { type?: string }).type;
    const mapped =
      type === 'entity.too.large' ? new FirewallError('BODY_TOO_LARGE') : type?.startsWith('entity.') || type?.startsWith('encoding.') || type?.startsWith('charset.') ? new FirewallError('INVALID_PAYLOAD', 'body must be a JSON object') : err;
    const fe = sendError(res, mapped, res.locals.requestId ?? randomUUID(), deps.redactor);
    if (fe.status >= 500) deps.log.error('admin request failed', { request_id: res.locals.requestId, code: fe.code, cause: String(fe.cause ?? '') });
  });
  return app;
}

/** Lists carry payloads up to this size; a larger one (an image) is read from the record's own page. */
const LIST_PAYLOAD_MAX = 64 * 1024;
const STATUSES = new Set<string>(['pending', 'approved', 'sending', 'sent', 'failed', 'rejected', 'expired']);

/** What a link token may reach: who it is, and its own approval (read it, decide it). */
function linkMayUse(req: Request, approvalId: string): boolean {
  if (req.method === 'GET' && req.path === '/me') return true;
  const m = /^\/approvals\/([^/]+)(\/approve|\/reject)?$/.exec(req.path);
  let id: string;
  try {
    id = m ? decodeURIComponent(m[1]!) : '';
  } catch {
    return false; // a malformed %-escape names no approval
  }
  return !!m && id === approvalId && (m[2] ? req.method === 'POST' : req.method === 'GET');
}

/** GET /approvals's query: status (default pending, or all), exact filters, time bounds, paging. */
export function historyQuery(q: Record<string, unknown>): HistoryQuery {
  const text = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string' || v.length > 200) throw new FirewallError('INVALID_PAYLOAD', `query parameter ${name} must be given once, as text`);
    return v;
  };
  const time = (name: string): string | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (!Number.isFinite(t)) throw new FirewallError('INVALID_PAYLOAD', `${name} must be an ISO time, e.g. 2026-11-24T08:00:00Z`);
    return new Date(t).toISOString();
  };
  const status = text('status') ?? 'pending';
  if (status !== 'all' && !STATUSES.has(status)) throw new FirewallError('INVALID_PAYLOAD', `status must be all or one of ${[...STATUSES].join(', ')}`);
  const limitText = text('limit') ?? '100';
  const limit = Number(limitText);
  if (!/^[0-9]{1,3}$/.test(limitText) || limit < 1 || limit > 500) throw new FirewallError('INVALID_PAYLOAD', 'limit must be 1 to 500');
  const cursor = text('before');
  const m = cursor === undefined ? undefined : /^([0-9T:.Z-]{20,30})~([A-Za-z0-9-]{1,64})$/.exec(cursor);
  if (cursor !== undefined && !m) throw new FirewallError('INVALID_PAYLOAD', 'before must be a next_before value from a previous page');
  return {
    status: status === 'all' ? undefined : (status as ApprovalStatus),
    robot: text('robot'),
    rule: text('rule'),
    caller: text('caller'),
    since: time('since'),
    until: time('until'),
    limit,
    before: m ? { createdAt: m[1]!, id: m[2]! } : undefined,
  };
}

/** An approval as the admin API shows it: the payload decoded for reading, bytes identified by digest. */
export function view(a: Approval, payloadMax = Infinity): Record<string, unknown> {
  const json = a.contentType.startsWith('application/json') && a.payload.length > 0 && a.payload.length <= payloadMax;
  return {
    id: a.id,
    request_id: a.requestId,
    status: a.status,
    route: a.route,
    method: a.method,
    target: a.target,
    [a.route.startsWith('app.') ? 'app' : a.route.startsWith('bot.') ? 'bot' : 'robot']: a.robot,
    caller: a.caller,
    msgtype: a.msgtype ?? null,
    rule: a.rule,
    reason: a.reason,
    approvers: a.approvers,
    required: a.required,
    created_at: a.createdAt,
    expires_at: a.expiresAt,
    size: a.purgedAt ? null : a.payload.length,
    sha256: a.sha256,
    // A parked bot stream that grew: approving it needs the sha256 of the state the approver checked.
    revised_at: a.revisedAt ?? null,
    // JSON bodies decoded for reading; uploads (a file), GET calls (no body: see target), erased
    // payloads and, in lists, large ones show null.
    payload: json ? (JSON.parse(a.payload.toString('utf8')) as unknown) : null,
    purged: a.purgedAt !== undefined,
    decisions: a.decisions,
    upstream: a.upstream ?? null,
    held: a.held,
    // Approved and waiting for its robot's window, a cooldown or the circuit: when it is expected to
    // go, why it waits, and the deadline after which it fails.
    expected_at: a.status === 'approved' ? (a.nextAttemptAt ?? null) : null,
    waiting_because: a.status === 'approved' ? (a.note ?? null) : null,
    deliver_by: a.deliverBy ?? null,
  };
}
