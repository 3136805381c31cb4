import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, text, until, type Stack } from '../helpers.js';

// What an operator watches: /metrics (decisions, latency, upstream errcodes, refusals, pending
// approvals), /readyz (store writable, WeCom reachable) and the heartbeat.

const metric = (body: string, name: string, labels: Record<string, string> = {}): number => {
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)) : false);
  return line ? Number(line.split(' ').pop()) : NaN;
};

describe('metrics and readiness', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ robots: { tight: { key: 'x', limit: '1/min' } } });
  });
  after(() => stack.close());

  it('counts decisions by route, robot, rule and decision, with latency, upstream errcodes, refusals and pending approvals', async () => {
    assert.equal((await stack.send('ops', text('hello'))).status, 200);
    assert.equal((await stack.send('ops', text('key AKIAABCDEFGHIJKLMNOP'))).status, 403);
    assert.equal((await stack.send('ops', text('all', { mentioned_list: ['@all'] }))).status, 202);
    assert.equal((await stack.send('tight', text('one'))).status, 200);
    assert.equal((await stack.send('tight', text('two'))).status, 429);
    assert.equal((await stack.send('nobody-knows-me', text('?'))).status, 404);
    const res = await fetch(`${stack.server.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.equal(metric(body, 'wecom_firewall_decisions_total', { route: 'webhook.send', target: 'ops', decision: 'forwarded' }), 1);
    assert.equal(metric(body, 'wecom_firewall_decisions_total', { target: 'ops', rule: 'guard.credential.aws-access-key', decision: 'rejected' }), 1);
    assert.equal(metric(body, 'wecom_firewall_decisions_total', { target: 'ops', rule: 'guard.mass-mention', decision: 'parked' }), 1);
    assert.equal(metric(body, 'wecom_firewall_decisions_total', { target: 'tight', decision: 'rate_limited' }), 1);
    assert.equal(metric(body, 'wecom_firewall_decisions_total', { target: 'unknown', decision: 'rejected' }), 1, 'an unknown alias is one label, not the alias');
    assert.equal(metric(body, 'wecom_firewall_limiter_refusals_total', { target: 'tight' }), 1);
    assert.equal(metric(body, 'wecom_firewall_upstream_answers_total', { route: 'webhook.send', status: '200', errcode: '0' }), 2);
    assert.equal(metric(body, 'wecom_firewall_request_duration_seconds_count', { route: 'webhook.send', decision: 'forwarded' }), 2);
    assert.equal(metric(body, 'wecom_firewall_approvals_pending'), 1);
    assert.equal(metric(body, 'wecom_firewall_audit_healthy'), 1);
    assert.ok(!body.includes(stack.keys.ops!) && !body.includes('nobody-knows-me'), 'no key or agent-chosen text in metrics');
  });

  it('is ready while the store writes and WeCom is reachable, and says which check fails', async () => {
    const ok = await fetch(`${stack.server.url}/readyz`);
    assert.equal(ok.status, 200);
    await stack.sim.close();
    // The upstream check is cached for a few seconds: wait it out.
    const res = await until('/readyz to answer 503', async () => {
      const r = await fetch(`${stack.server.url}/readyz`);
      if (r.status === 503) return r;
      await r.body?.cancel();
      return undefined;
    });
    const body = (await res.json()) as { checks: { store: string; upstream: string } };
    assert.deepEqual(body.checks, { store: 'ok', upstream: 'unreachable' });
  });
});

describe('heartbeat', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ robots: { pulse: { key: 'x' }, oncall: { key: 'x' } }, heartbeat: { robot: 'pulse', every: '1h', failAfter: 2, alertRobot: 'oncall' }, resilience: { retries: 0 } }, { ratePerMinute: 0 });
  });
  after(() => stack.close());

  it('posts a synthetic message, alerts the ops robot once after repeated failures, and says when it recovers', async () => {
    const hb = stack.server.firewall.heartbeat!;
    await hb.tick();
    assert.equal(stack.sim.delivered(stack.keys.pulse).length, 1);
    const failPulse = () => stack.sim.failNext(1, -1, '/cgi-bin/webhook/send');
    failPulse();
    await hb.tick();
    assert.equal(stack.sim.delivered(stack.keys.oncall).length, 0, 'one failure is not an alert');
    failPulse();
    await hb.tick();
    failPulse();
    await hb.tick();
    const alerts = stack.sim.delivered(stack.keys.oncall);
    assert.equal(alerts.length, 1, 'alerted once, not once per failure');
    assert.match(alerts[0]!.raw, /heartbeat failed/);
    const metrics = await (await fetch(`${stack.server.adminUrl}/metrics`)).text();
    assert.equal(metric(metrics, 'wecom_firewall_heartbeat_consecutive_failures'), 3);
    await hb.tick();
    assert.equal(stack.sim.delivered(stack.keys.oncall).length, 2);
    assert.match(stack.sim.delivered(stack.keys.oncall)[1]!.raw, /recovered/);
    assert.equal(hb.consecutiveFailures, 0);
  });
});
