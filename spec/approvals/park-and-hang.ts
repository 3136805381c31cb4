// Child process for the kill -9 spec: parks one record, prints its id, then hangs until killed.
import { SqliteApprovalStore } from '../../lib/approvals/sqlite-store.js';

const store = new SqliteApprovalStore(process.argv[2]!);
const a = store.park({
  requestId: 'req-1',
  route: 'webhook.send',
  target: '/cgi-bin/webhook/send',
  robot: 'ops',
  caller: '127.0.0.1',
  msgtype: 'text',
  payload: Buffer.from('{"msgtype":"text","text":{"content":"hi @all"}}'),
  contentType: 'application/json; charset=utf-8',
  rule: 'mass-mention',
  reason: 'needs approval',
  expiresAt: new Date(Date.now() + 60_000),
});
process.stdout.write(`${a.id}\n`);
setInterval(() => {}, 1000);
