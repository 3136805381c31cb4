import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FirewallError } from '../errors.js';
import type { Approvals } from '../approvals/service.js';
import type { Approval } from '../approvals/store.js';
import type { Redactor } from '../config/secrets.js';
import type { Logger } from 'winston';
import type { Authenticate } from './auth.js';
import { sendError, sendJson } from './respond.js';

// The admin API, on its own listener: list pending approvals, show one, approve or reject.
// Every route needs a valid bearer JWT whose `sub` is an approver somewhere (approvals.approvers, a
// group, a rule's approvers); deciding a record needs to be among that record's approvers.

export interface AdminDeps {
  approvals: Approvals;
  authenticate: Authenticate;
  redactor: Redactor;
  log: Logger;
}

type Locals = { requestId: string; sub: string };
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

  app.use(
    asyncRoute(async (req, res, next) => {
      res.locals.requestId = randomUUID();
      res.setHeader('x-request-id', res.locals.requestId);
      res.locals.sub = await deps.authenticate(req);
      // Pending messages can hold anything an agent tried to post: only approvers may read them too.
      if (!approvals.mayUseAdmin(res.locals.sub)) throw new FirewallError('FORBIDDEN', 'only approvers (approvals.approvers, a group, or a rule\'s approvers) may use the admin API');
      next();
    }),
  );
  app.use(express.json({ limit: '16kb', type: () => true, strict: true }));

  app.get('/approvals', (_req, res: AdminResponse) => {
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', approvals: approvals.pending().map(view) });
  });
  app.get('/approvals/:id', (req, res: AdminResponse) => {
    const found = approvals.get(String(req.params.id));
    if (!found) throw new FirewallError('APPROVAL_NOT_FOUND');
    sendJson(res, 200, { errcode: 0, errmsg: 'ok', approval: view(found) });
  });
  const decide = (verdict: 'approve' | 'reject') =>
    asyncRoute(async (req, res) => {
      const body = req.body as { comment?: unknown } | undefined;
      const comment = typeof body?.comment === 'string' ? body.comment.slice(0, 2000) : undefined;
      const result = await approvals.decide(String(req.params.id), res.locals.sub, verdict, comment);
      if (result.status === 'failed') {
        sendJson(res, 502, { errcode: -1, errmsg: 'approved, but sending to WeCom failed', request_id: res.locals.requestId, approval: view(result) });
      } else sendJson(res, 200, { errcode: 0, errmsg: 'ok', request_id: res.locals.requestId, approval: view(result) });
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

/** An approval as the admin API shows it: the payload decoded for reading, bytes identified by digest. */
export function view(a: Approval): Record<string, unknown> {
  return {
    id: a.id,
    request_id: a.requestId,
    status: a.status,
    route: a.route,
    method: a.method,
    target: a.target,
    [a.route.startsWith('app.') ? 'app' : 'robot']: a.robot,
    caller: a.caller,
    msgtype: a.msgtype ?? null,
    rule: a.rule,
    reason: a.reason,
    approvers: a.approvers,
    required: a.required,
    created_at: a.createdAt,
    expires_at: a.expiresAt,
    size: a.payload.length,
    sha256: a.sha256,
    // JSON bodies decoded for reading; uploads (a file) and GET calls (no body: see target) show null.
    payload: a.contentType.startsWith('application/json') && a.payload.length ? (JSON.parse(a.payload.toString('utf8')) as unknown) : null,
    decisions: a.decisions,
    upstream: a.upstream ?? null,
  };
}
