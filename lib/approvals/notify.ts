import type { Logger } from 'winston';
import type { AuditLog } from '../audit/audit.js';
import type { UpstreamAnswer } from '../upstream/send.js';
import type { Reservation } from '../limits/limiter.js';
import { spending } from '../upstream/outcome.js';
import type { Approval } from './store.js';
import type { ApprovalLinks } from './links.js';
import { previewOf, inertMarkdown } from './preview.js';

// The card posted to the approvers' robot when a request is parked: who asked, what (a masked
// preview), which rule and why, when it expires, and one personal link per approver. WeCom caps a
// markdown message at 4096 bytes: links that do not fit are replaced by a pointer to the console.

const MAX_BYTES = 4096;
const MAX_REASON = 300;

export interface CardInput {
  record: Approval;
  /** Personal links, in approver order (the caller is never given one: it cannot approve itself). */
  links: Array<{ sub: string; url: string }>;
  consoleUrl: string;
  redact: (text: string) => string;
  now?: Date;
}

export function notificationCard({ record, links, consoleUrl, redact, now = new Date() }: CardInput): string {
  const safe = (s: string) => inertMarkdown(redact(s)).replace(/\s+/g, ' ');
  const reason = [...record.reason].length > MAX_REASON ? `${[...record.reason].slice(0, MAX_REASON).join('')}…` : record.reason;
  const minutes = Math.max(0, Math.round((Date.parse(record.expiresAt) - now.getTime()) / 60_000));
  const target = record.route.startsWith('app.') ? `app ${safe(record.robot)} · ${safe(record.route)}` : record.route.startsWith('bot.') ? `bot ${safe(record.robot)} · ${safe(record.route)}` : `robot ${safe(record.robot)}`;
  const head = [
    `**Approval needed** · <font color="warning">${safe(record.rule)}</font>`,
    `> Asked by: ${safe(record.caller)}`,
    `> To: ${target}${record.msgtype ? ` · ${safe(record.msgtype)}` : ''} · ${record.payload.length} bytes`,
    `> Why: ${safe(reason)}`,
    `> Needs: ${record.required} of ${record.approvers.length} approvers · expires ${record.expiresAt.slice(0, 16).replace('T', ' ')} UTC (in ${minutes} min)`,
    `> Preview: <font color="comment">${previewOf(record, redact)}</font>`,
    '',
  ].join('\n');
  const foot = `\n<font color="comment">Each link is personal and decides once; opening it never decides. Request ${safe(record.requestId)}</font>`;
  const fits = (s: string) => Buffer.byteLength(s) <= MAX_BYTES;
  let review = 'Review as: ';
  let shown = 0;
  for (const { sub, url } of links) {
    const next = `${shown ? ' · ' : ''}[${safe(sub)}](${url})`;
    const rest = links.length - shown - 1;
    const tail = rest ? ` · ${rest} more in the [console](${consoleUrl})` : '';
    if (!fits(head + review + next + tail + foot)) break;
    review += next;
    shown++;
  }
  if (shown < links.length) review += `${shown ? ' · ' : ''}${links.length - shown} more in the [console](${consoleUrl})`;
  if (!links.length) review = `Review in the [console](${consoleUrl}approvals/${encodeURIComponent(record.id)})${record.required > 1 ? `: sign in there; it needs ${record.required} different approvers` : ''}`;
  const card = head + review + foot;
  // The head is bounded (rule, reason and preview are short), but never post past WeCom's cap.
  return fits(card) ? card : Buffer.from(card).subarray(0, MAX_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
}

/**
 * Builds the links and the card for one parked record. Personal links only when one approval
 * decides: every reader of the card holds every link in it, so with `required` > 1 one reader could
 * cast all the votes. Those records get the console link only, where each approver signs in.
 */
export async function cardFor(record: Approval, links: ApprovalLinks, consoleUrl: string, redact: (s: string) => string): Promise<string> {
  const subs = record.required > 1 ? [] : record.approvers.filter((sub) => sub !== record.caller);
  const issued = await Promise.all(subs.map(async (sub) => ({ sub, url: await links.issue(record.id, sub, record.expiresAt) })));
  return notificationCard({ record, links: issued, consoleUrl, redact });
}

export interface NotifierDeps {
  links: ApprovalLinks;
  consoleUrl: string;
  redact: (text: string) => string;
  /** Takes a token from the notify robot's bucket (a card counts against WeCom's 20/min like any message). */
  /** The notify robot's tokens (given back when the card certainly did not go). */
  take: () => Promise<Reservation>;
  /** Posts a message body (JSON) through the notify robot with its real key. */
  post: (body: object) => Promise<UpstreamAnswer>;
  audit: AuditLog;
  log: Logger;
  robot: string;
}

/**
 * Posts the card for a parked record. Never throws: the record is already stored and the agent
 * answered; a card that cannot be posted is logged and audited, and the console still lists it.
 */
export function createNotifier(deps: NotifierDeps): (record: Approval) => Promise<void> {
  return async (record) => {
    const what = { route: 'webhook.send', robot: deps.robot, msgtype: 'markdown', approval_id: record.id };
    try {
      const content = await cardFor(record, deps.links, deps.consoleUrl, deps.redact);
      const tokens = await deps.take();
      const answer = await spending(tokens, () => deps.post({ msgtype: 'markdown', markdown: { content } }));
      const ok = answer.status === 200 && answer.errcode === 0;
      deps.audit.record({ decision: ok ? 'notified' : 'notify_failed', request_id: record.requestId, who: 'system:notify', what, upstream_status: answer.status, upstream_errcode: answer.errcode });
      if (!ok) deps.log.warn('approval card not accepted by WeCom', { approval_id: record.id, robot: deps.robot, status: answer.status, errcode: answer.errcode });
    } catch (err) {
      deps.audit.record({ decision: 'notify_failed', request_id: record.requestId, who: 'system:notify', what });
      deps.log.warn('approval card not posted', { approval_id: record.id, robot: deps.robot, cause: deps.redact(String((err as Error).message ?? err)) });
    }
  };
}
