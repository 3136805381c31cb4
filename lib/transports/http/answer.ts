import type http from 'node:http';
import type { Redactor } from '../../config/secrets.js';
import type { Outcome, Settled } from '../../pipeline/request.js';
import type { Remembered } from '../../pipeline/dedupe.js';
import { relayHeaders } from '../../upstream/relay.js';
import { sendError, sendJson } from '../../http/respond.js';

// A pipeline outcome as an HTTP answer: WeCom's answer relayed as it came (but for hop-by-hop
// headers), a parked message as 202 with its approval id, a repeat as the first request's answer.

export function writeOutcome(res: http.ServerResponse, outcome: Outcome, redactor: Redactor): void {
  if (outcome.kind !== 'duplicate') return writeSettled(res, outcome);
  res.setHeader('x-firewall-duplicate-of', outcome.of);
  writeRemembered(res, outcome.first, outcome.of, redactor);
}

function writeRemembered(res: http.ServerResponse, first: Remembered, requestId: string, redactor: Redactor): void {
  if (first.kind === 'refused') sendError(res, first.error, requestId, redactor);
  else writeSettled(res, first);
}

function writeSettled(res: http.ServerResponse, outcome: Settled): void {
  if (outcome.kind === 'parked') {
    const { approvalId, requestId, approved } = outcome;
    if (!approved) return sendJson(res, 202, { errcode: 0, errmsg: 'pending approval', approval_id: approvalId, request_id: requestId });
    // Approved (a held request), waiting for its robot's window: it will be sent; the agent must not send it again.
    return sendJson(res, 202, { errcode: 0, errmsg: "approved; waiting for the robot's limit, it will be sent", approval_id: approvalId, request_id: requestId, expected_at: approved.expectedAt });
  }
  const { answer } = outcome;
  if (answer.relayed) return; // too large to buffer: already streamed to the agent
  const headers = relayHeaders(answer.headers);
  headers['content-length'] = answer.body.length;
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}
