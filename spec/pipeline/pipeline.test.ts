import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { PolicySet } from '../../lib/policy/compile.js';
import { Limits } from '../../lib/limits/limiter.js';
import { Approvals } from '../../lib/approvals/service.js';
import { SqliteApprovalStore } from '../../lib/approvals/sqlite-store.js';
import { Dedupe } from '../../lib/dedupe/dedupe.js';
import { createPipeline, type PipelineDeps } from '../../lib/pipeline/pipeline.js';
import type { Remembered } from '../../lib/pipeline/dedupe.js';
import type { Request } from '../../lib/pipeline/request.js';
import type { AuditRecord } from '../../lib/audit/audit.js';
import type { UpstreamAnswer } from '../../lib/upstream/send.js';
import { UpstreamRefusal } from '../../lib/upstream/guard.js';
import { FirewallError } from '../../lib/errors.js';
import { parseRate } from '../../lib/config/units.js';
import { tempDir } from '../helpers.js';

// The pipeline alone, with no transport: plain Requests in, outcomes or FirewallErrors out, a
// forward that only counts its calls.

const POLICIES = `rules:
  - name: no-secrets
    description: refuse the word secret
    condition: { properties: { text: { properties: { content: { pattern: secret } } } } }
    action: reject
    reason: no secrets
  - name: hold-it
    description: hold a question open for a decision
    condition: { properties: { text: { properties: { content: { pattern: "^hold" } } } } }
    action: approve
    approval: { mode: hold, holdFor: 30s }
    reason: decide now
  - name: park-all
    description: park @all
    condition: { properties: { text: { properties: { content: { pattern: "@all" } } } } }
    action: approve
    reason: everyone
default: { action: allow, reason: fine }
`;

function setup(options: { limit?: string; dedupe?: boolean } = {}) {
  const dir = tempDir('wf-pipeline-');
  writeFileSync(join(dir, 'p.yaml'), POLICIES);
  const policies = new PolicySet([dir]);
  const limits = new Limits({ pacingMaxWaitMs: 0 }, [{ kind: 'bot', name: 'helpdesk', limit: parseRate(options.limit ?? '2/min') }]);
  const log = winston.createLogger({ silent: true });
  const audit = { record() {}, healthy: () => true, flush: async () => {}, close: async () => {} };
  const store = new SqliteApprovalStore(tempDir('wf-pipeline-store-'));
  const approvals = new Approvals({ store, audit, limits, log, deliver: () => Promise.reject(new Error('not in this spec')), cooldownLeftMs: () => 0, ttlMs: 60_000, approvers: ['alice'], everyone: new Set(['alice']), maxPending: 10, keepDecidedMs: 60_000 });
  const deps: PipelineDeps = { policies: () => policies, limits, approvals, audit, log, dedupe: options.dedupe ? new Dedupe<Remembered>({ windowMs: 60_000, maxEntries: 10 }) : undefined };
  return { pipeline: createPipeline(deps), store, deps };
}

const request = (content: string, over: Partial<Request> = {}): Request => {
  const payload = { msgtype: 'text', text: { content } };
  const record: AuditRecord = { decision: 'rejected', request_id: 'r1', who: 'agent', what: {} };
  return { requestId: 'r1', caller: 'agent', route: 'bot.send_msg', method: 'POST', path: 'aibot_send_msg', target: { kind: 'bot', name: 'helpdesk' }, msgtype: 'text', payload, bytes: Buffer.from(JSON.stringify(payload)), contentType: 'application/json', upstreamQuery: '', record, ...over };
};

const ok: UpstreamAnswer = { status: 200, headers: {}, body: Buffer.from('{"errcode":0}'), errcode: 0 };

describe('pipeline', () => {
  it('forwards what the policies allow and spends the target and caller tokens', async () => {
    const { pipeline } = setup({ limit: '2/min' });
    let sent = 0;
    const forward = async () => (sent++, ok);
    const r = request('hello');
    assert.equal((await pipeline(r, forward)).kind, 'forwarded');
    assert.deepEqual([r.record.decision, r.record.upstream_errcode, r.record.why?.rule], ['forwarded', 0, 'default']);
    await pipeline(request('again'), forward);
    await assert.rejects(pipeline(request('third'), forward), (e: FirewallError) => e.code === 'RATE_LIMITED' && e.errcode === 45009);
    assert.equal(sent, 2);
  });

  it('refuses what a policy rejects without calling the forward', async () => {
    const { pipeline } = setup();
    let sent = 0;
    const r = request('my secret');
    await assert.rejects(pipeline(r, async () => (sent++, ok)), (e: FirewallError) => e.errcode === 9900001);
    assert.equal(r.record.why?.rule, 'no-secrets');
    assert.equal(sent, 0);
  });

  it('parks what a policy sends for approval: the exact bytes are stored, nothing is forwarded', async () => {
    const { pipeline, store } = setup();
    const r = request('hi @all', { upstreamQuery: 'req_id=abc&chatid=g1' });
    const outcome = await pipeline(r, () => assert.fail('not forwarded'));
    assert.equal(outcome.kind, 'parked');
    const record = store.get(outcome.kind === 'parked' ? outcome.approvalId : '')!;
    assert.deepEqual([record.target, record.robot, record.payload.toString()], ['aibot_send_msg?req_id=abc&chatid=g1', 'helpdesk', r.bytes.toString()]);
  });

  it('parks instead of holding a request whose client cannot wait (noHold: a bot frame)', async () => {
    const { pipeline, store } = setup();
    const outcome = await pipeline(request('hold this', { noHold: true }), () => assert.fail('not forwarded'));
    assert.equal(outcome.kind, 'parked', 'answered at once, not held for 30 s');
    const record = store.get(outcome.kind === 'parked' ? outcome.approvalId : '')!;
    assert.deepEqual([record.status, record.held], ['pending', false]);
  });

  it('refuses an approve decision for a request that cannot be parked', async () => {
    const { pipeline, store } = setup();
    await assert.rejects(pipeline(request('hi @all', { unparkable: 'an upload cannot be parked' }), () => assert.fail('not forwarded')), (e: FirewallError) => e.code === 'POLICY_REJECTED');
    assert.equal(store.pendingCount(), 0);
  });

  it('judges a counted request (a later frame of a stream) without spending tokens again', async () => {
    const { pipeline } = setup({ limit: '1/min' });
    await pipeline(request('first frame'), async () => ok);
    assert.equal((await pipeline(request('first frame, more', { counted: true }), async () => ok)).kind, 'forwarded');
    await assert.rejects(pipeline(request('my secret', { counted: true }), async () => ok), (e: FirewallError) => e.errcode === 9900001);
  });

  it('gives the tokens back when WeCom certainly did not get it, keeps them when it may have', async () => {
    const { pipeline } = setup({ limit: '1/min' });
    await assert.rejects(pipeline(request('a'), () => Promise.reject(new UpstreamRefusal('UPSTREAM_UNAVAILABLE', 'not connected', 0, false))));
    await assert.rejects(pipeline(request('b'), () => Promise.reject(new UpstreamRefusal('UPSTREAM_TIMEOUT', 'no ack', 1, true))), (e: FirewallError) => e.errcode === 9900017);
    await assert.rejects(pipeline(request('c'), async () => ok), (e: FirewallError) => e.code === 'RATE_LIMITED', 'the timed-out one kept its token');
  });

  it('answers a repeat with the first outcome, once dedupe is asked for', async () => {
    const { pipeline } = setup({ dedupe: true });
    let sent = 0;
    const forward = async () => (sent++, ok);
    await pipeline(request('same', { dedupe: {} }), forward);
    const again = await pipeline(request('same', { dedupe: {}, requestId: 'r2' }), forward);
    assert.deepEqual([again.kind, again.kind === 'duplicate' && again.of], ['duplicate', 'r1']);
    await pipeline(request('same'), forward); // no dedupe asked: sent again
    assert.equal(sent, 2);
  });

  it('check() runs only the policies: a refusal is thrown, anything else returns, nothing is parked or counted', async () => {
    const { pipeline, store } = setup({ limit: '1/min' });
    assert.throws(() => pipeline.check(request('my secret')), (e: FirewallError) => e.errcode === 9900001);
    pipeline.check(request('hi @all'));
    assert.equal(store.pendingCount(), 0);
    assert.equal((await pipeline(request('still room'), async () => ok)).kind, 'forwarded');
  });

  it('refuses everything while the audit log is broken (fail closed)', async () => {
    const { pipeline, deps } = setup();
    deps.audit.healthy = () => false;
    await assert.rejects(pipeline(request('hello'), async () => ok), (e: FirewallError) => e.code === 'AUDIT_UNAVAILABLE');
  });
});
