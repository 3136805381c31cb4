import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Approval, ApprovalStatus, ApprovalStore, HistoryQuery, NewApproval, SpentToken, UpstreamOutcome, Verdict } from './store.js';

// SQLite in WAL mode with synchronous=FULL: a parked request is on disk before its 202 is written,
// and survives kill -9. Every status change is a single UPDATE guarded by the expected old status,
// so two deciders racing on one record cannot both win.

interface Row {
  id: string;
  request_id: string;
  route: string;
  method: 'GET' | 'POST';
  target: string;
  robot: string;
  caller: string;
  msgtype: string | null;
  payload: Buffer;
  content_type: string;
  sha256: string;
  rule: string;
  reason: string;
  approvers: string;
  required: number;
  created_at: string;
  expires_at: string;
  status: ApprovalStatus;
  decisions: string;
  upstream: string | null;
  purged_at: string | null;
  held: number;
  deliver_by: string | null;
  next_attempt_at: string | null;
  note: string | null;
  revised_at: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  route TEXT NOT NULL,
  method TEXT NOT NULL DEFAULT 'POST',
  target TEXT NOT NULL,
  robot TEXT NOT NULL,
  caller TEXT NOT NULL,
  msgtype TEXT,
  payload BLOB NOT NULL,
  content_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  rule TEXT NOT NULL,
  reason TEXT NOT NULL,
  approvers TEXT NOT NULL DEFAULT '[]',
  required INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  status TEXT NOT NULL,
  decisions TEXT NOT NULL DEFAULT '[]',
  upstream TEXT,
  purged_at TEXT,
  held INTEGER NOT NULL DEFAULT 0,
  deliver_by TEXT,
  next_attempt_at TEXT,
  note TEXT,
  revised_at TEXT
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals(status, created_at);
CREATE INDEX IF NOT EXISTS approvals_created ON approvals(created_at, id);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spent_tokens (
  jti TEXT PRIMARY KEY,
  approval_id TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
`;

export class SqliteApprovalStore implements ApprovalStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dataDir, 'approvals.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // Stores created before app routes have no method column: every record in them was a POST.
    const columns = new Set((this.db.prepare('PRAGMA table_info(approvals)').all() as Array<{ name: string }>).map((c) => c.name));
    if (!columns.has('method')) this.db.exec("ALTER TABLE approvals ADD COLUMN method TEXT NOT NULL DEFAULT 'POST'");
    if (!columns.has('approvers')) {
      // A store from before per-record approvers: its records get the configured default approvers
      // (an empty list means those), and an `approved` record there was caught mid-send by a crash
      // (that version sent straight after approving), so it must not be sent again.
      this.db.exec("ALTER TABLE approvals ADD COLUMN approvers TEXT NOT NULL DEFAULT '[]'");
      this.db.exec(`UPDATE approvals SET status = 'failed', upstream = '{"status":0,"body":"interrupted while sending before an upgrade; not sent again"}' WHERE status = 'approved'`);
    }
    if (!columns.has('required')) this.db.exec('ALTER TABLE approvals ADD COLUMN required INTEGER NOT NULL DEFAULT 1');
    if (!columns.has('purged_at')) this.db.exec('ALTER TABLE approvals ADD COLUMN purged_at TEXT');
    if (!columns.has('revised_at')) this.db.exec('ALTER TABLE approvals ADD COLUMN revised_at TEXT');
    if (!columns.has('held')) {
      // An older store did not mark held records: they keep their stored expiry.
      this.db.exec('ALTER TABLE approvals ADD COLUMN held INTEGER NOT NULL DEFAULT 0');
      this.db.exec('ALTER TABLE approvals ADD COLUMN deliver_by TEXT');
      this.db.exec('ALTER TABLE approvals ADD COLUMN next_attempt_at TEXT');
      this.db.exec('ALTER TABLE approvals ADD COLUMN note TEXT');
    }
    this.stmts = {
      insert: this.db.prepare(`INSERT INTO approvals (id, request_id, route, method, target, robot, caller, msgtype, payload, content_type, sha256, rule, reason, approvers, required, created_at, expires_at, held, status)
        VALUES (@id, @request_id, @route, @method, @target, @robot, @caller, @msgtype, @payload, @content_type, @sha256, @rule, @reason, @approvers, @required, @created_at, @expires_at, @held, 'pending')`),
      get: this.db.prepare('SELECT * FROM approvals WHERE id = ?'),
      vote: this.db.prepare('UPDATE approvals SET status = @status, decisions = @decisions, deliver_by = @deliver_by WHERE id = @id'),
      claim: this.db.prepare(`UPDATE approvals SET status = 'sending', next_attempt_at = NULL WHERE id = ? AND status = 'approved'`),
      unclaim: this.db.prepare(`UPDATE approvals SET status = 'approved', next_attempt_at = @at, note = @note WHERE id = @id AND status = 'sending'`),
      postpone: this.db.prepare(`UPDATE approvals SET next_attempt_at = @at, note = @note WHERE id = @id AND status = 'approved'`),
      finish: this.db.prepare(`UPDATE approvals SET status = @status, upstream = @upstream, next_attempt_at = NULL WHERE id = @id AND status = @from`),
      heldPending: this.db.prepare(`SELECT * FROM approvals WHERE status = 'pending' AND held = 1`),
      withStatus: this.db.prepare('SELECT * FROM approvals WHERE status = ? ORDER BY created_at'),
      revise: this.db.prepare(`UPDATE approvals SET payload = @payload, sha256 = @sha256, decisions = '[]', revised_at = @at WHERE id = @id AND status = 'pending'`),
      expireOne: this.db.prepare(`UPDATE approvals SET status = 'expired' WHERE id = ? AND status = 'pending'`),
      expire: this.db.prepare(`UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?`),
      spend: this.db.prepare('INSERT OR IGNORE INTO spent_tokens (jti, approval_id, expires_at) VALUES (?, ?, ?)'),
      purge: this.db.prepare(`UPDATE approvals SET payload = x'', purged_at = @now
        WHERE status IN ('sent', 'failed', 'rejected', 'expired') AND created_at <= @before AND purged_at IS NULL`),
      forgetSpent: this.db.prepare('DELETE FROM spent_tokens WHERE expires_at <= ?'),
      ping: this.db.prepare('SELECT 1 AS ok'),
      probe: this.db.prepare('INSERT INTO probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'),
      pendingCount: this.db.prepare(`SELECT COUNT(*) AS n FROM approvals WHERE status = 'pending'`),
    };
  }

  park(input: NewApproval): Approval {
    const id = randomUUID();
    this.stmts.insert.run({
      id,
      request_id: input.requestId,
      route: input.route,
      method: input.method,
      target: input.target,
      robot: input.robot,
      caller: input.caller,
      msgtype: input.msgtype ?? null,
      payload: input.payload,
      content_type: input.contentType,
      sha256: createHash('sha256').update(input.payload).digest('hex'),
      rule: input.rule,
      reason: input.reason,
      approvers: JSON.stringify(input.approvers),
      required: input.required,
      created_at: new Date().toISOString(),
      expires_at: input.expiresAt.toISOString(),
      held: input.held ? 1 : 0,
    });
    return this.get(id)!;
  }

  get(id: string): Approval | undefined {
    const row = this.stmts.get.get(id) as Row | undefined;
    return row && toApproval(row);
  }

  pending(): Approval[] {
    this.expire();
    return this.withStatus('pending');
  }

  pendingCount(): number {
    this.expire();
    return (this.stmts.pendingCount.get() as { n: number }).n;
  }

  vote(id: string, verdict: Verdict, spend?: SpentToken, deliverBy?: (record: Approval) => Date, sha256?: string): Approval | 'closed' | 'duplicate' | 'token_spent' | 'changed' | undefined {
    return this.db.transaction((): Approval | 'closed' | 'duplicate' | 'token_spent' | 'changed' | undefined => {
      const current = this.get(id);
      if (!current) return undefined;
      // Approving binds to the bytes shown; a record that changed while parked must be approved with them.
      if (verdict.verdict === 'approve' && current.status === 'pending' && (sha256 !== undefined ? current.sha256 !== sha256 : current.revisedAt !== undefined)) return 'changed';
      // Spent first: a used link stays used even if this vote turns out to be refused below.
      if (spend && this.stmts.spend.run(spend.jti, id, spend.expiresAt.toISOString()).changes === 0) return 'token_spent';
      if (current.status !== 'pending' || current.expiresAt <= new Date().toISOString()) return 'closed';
      if (current.decisions.some((d) => d.who === verdict.who)) return 'duplicate';
      const decisions = [...current.decisions, verdict];
      const approvals = decisions.filter((d) => d.verdict === 'approve').length;
      const status = verdict.verdict === 'reject' ? 'rejected' : approvals >= current.required ? 'approved' : 'pending';
      // Inside an immediate transaction: the checks above still hold here.
      const deliver_by = status === 'approved' && deliverBy ? deliverBy(current).toISOString() : null;
      this.stmts.vote.run({ id, status, decisions: JSON.stringify(decisions), deliver_by });
      return this.get(id);
    }).immediate();
  }

  history(q: HistoryQuery): Approval[] {
    this.expire();
    const where: string[] = [];
    const args: Record<string, string | number> = { limit: q.limit };
    const eq = (column: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = @${column}`);
      args[column] = value;
    };
    eq('status', q.status);
    eq('robot', q.robot);
    eq('rule', q.rule);
    eq('caller', q.caller);
    if (q.since !== undefined) (where.push('created_at >= @since'), (args.since = q.since));
    if (q.until !== undefined) (where.push('created_at < @until'), (args.until = q.until));
    if (q.before) {
      where.push('(created_at, id) < (@beforeAt, @beforeId)');
      Object.assign(args, { beforeAt: q.before.createdAt, beforeId: q.before.id });
    }
    // Column names come from the fixed list above; values are bound.
    const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(args) as Row[]).map(toApproval);
  }

  purge(before: Date): number {
    const now = new Date().toISOString();
    this.stmts.forgetSpent.run(now);
    return this.stmts.purge.run({ now, before: before.toISOString() }).changes;
  }

  claim(id: string): boolean {
    return this.stmts.claim.run(id).changes === 1;
  }

  withStatus(status: ApprovalStatus): Approval[] {
    return (this.stmts.withStatus.all(status) as Row[]).map(toApproval);
  }

  unclaim(id: string, at: Date, note: string): boolean {
    return this.stmts.unclaim.run({ id, at: at.toISOString(), note }).changes === 1;
  }

  postpone(id: string, at: Date, note: string): void {
    this.stmts.postpone.run({ id, at: at.toISOString(), note });
  }

  finish(id: string, status: 'sent' | 'failed', upstream: UpstreamOutcome, from: 'sending' | 'approved' = 'sending'): Approval {
    this.stmts.finish.run({ id, status, from, upstream: JSON.stringify({ ...upstream, at: new Date().toISOString() }) });
    return this.get(id)!;
  }

  expireHeld(): Approval[] {
    return this.db.transaction(() => {
      const held = (this.stmts.heldPending.all() as Row[]).map(toApproval);
      for (const r of held) this.stmts.expireOne.run(r.id);
      return held.map((r) => ({ ...r, status: 'expired' as const }));
    }).immediate();
  }

  revise(id: string, payload: Buffer): boolean {
    return this.stmts.revise.run({ id, payload, sha256: createHash('sha256').update(payload).digest('hex'), at: new Date().toISOString() }).changes === 1;
  }

  expireNow(id: string): boolean {
    return this.stmts.expireOne.run(id).changes === 1;
  }

  expire(now = new Date()): number {
    return this.stmts.expire.run(now.toISOString()).changes;
  }

  healthy(): boolean {
    try {
      return (this.stmts.ping.get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  writable(): boolean {
    try {
      return this.stmts.probe.run(new Date().toISOString()).changes === 1;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toApproval(r: Row): Approval {
  return {
    id: r.id,
    requestId: r.request_id,
    route: r.route as Approval['route'],
    method: r.method,
    target: r.target,
    robot: r.robot,
    caller: r.caller,
    msgtype: r.msgtype ?? undefined,
    payload: r.payload,
    contentType: r.content_type,
    sha256: r.sha256,
    rule: r.rule,
    reason: r.reason,
    approvers: JSON.parse(r.approvers) as string[],
    required: r.required,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: r.status,
    decisions: JSON.parse(r.decisions) as Verdict[],
    upstream: r.upstream ? (JSON.parse(r.upstream) as Approval['upstream']) : undefined,
    purgedAt: r.purged_at ?? undefined,
    held: r.held === 1,
    deliverBy: r.deliver_by ?? undefined,
    nextAttemptAt: r.next_attempt_at ?? undefined,
    note: r.note ?? undefined,
    revisedAt: r.revised_at ?? undefined,
  };
}
