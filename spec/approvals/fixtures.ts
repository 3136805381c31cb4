import type { NewApproval } from '../../lib/approvals/store.js';

/** A parked @all text message, as the proxy handler would store it. */
export const parked = (over: Partial<NewApproval> = {}): NewApproval => ({
  requestId: 'req-1',
  route: 'webhook.send',
  method: 'POST',
  target: '/cgi-bin/webhook/send',
  robot: 'ops',
  caller: '127.0.0.1',
  msgtype: 'text',
  payload: Buffer.from('{"msgtype":"text","text":{"content":"hi @all"}}'),
  contentType: 'application/json; charset=utf-8',
  rule: 'mass-mention',
  reason: 'needs approval',
  approvers: ['alice', 'bob'],
  required: 1,
  expiresAt: new Date(Date.now() + 60_000),
  ...over,
});
