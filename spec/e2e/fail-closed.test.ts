import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, tempDir, text, until } from '../helpers.js';

describe('failing closed', () => {
  it('refuses every request with 503 once an audit write fails (a full disk), and /healthz says so', async () => {
    const auditDir = join(tempDir(), 'audit');
    mkdirSync(auditDir);
    symlinkSync('/dev/full', join(auditDir, 'audit.log')); // every write: ENOSPC
    const stack = await startStack({ audit: { enabled: true, dir: auditDir } });
    try {
      await stack.send('ops', text('the first record cannot be written'));
      // The audit line is written just after the answer; the firewall turns unhealthy when the write fails.
      await until('/healthz to report the failed audit write', async () => (await fetch(`${stack.server.url}/healthz`)).status === 503);
      const before = stack.sim.received().length;
      const a = await stack.send('ops', text('must not go out unaudited'));
      assert.deepEqual([a.status, a.json.errcode], [503, 9900008]);
      assert.equal(stack.sim.received().length, before);
    } finally {
      await stack.close();
    }
  });

  it('answers gettoken with 502/-1 when WeCom cannot be reached to check the firewall\'s own credentials', async () => {
    const stack = await startStack();
    try {
      await stack.sim.close();
      const res = await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`);
      assert.deepEqual([res.status, ((await res.json()) as { errcode: number }).errcode], [502, -1]);
    } finally {
      await stack.close();
    }
  });

  it('caps the approval queue: past approvals.maxPending a message is refused with 429, not parked', async () => {
    const stack = await startStack({ approvals: { approvers: ['alice'], maxPending: 2 } });
    try {
      // Different messages: a repeat of the same one is answered with its first answer (dedupe).
      const mass = (n: number) => text(`everyone ${n}`, { mentioned_list: ['@all'] });
      assert.equal((await stack.send('ops', mass(1))).status, 202);
      assert.equal((await stack.send('ops', mass(2))).status, 202);
      const third = await stack.send('ops', mass(3));
      assert.deepEqual([third.status, third.json.errcode], [429, 45009]);
      assert.equal(third.headers.get('retry-after'), '60');
    } finally {
      await stack.close();
    }
  });

  it('parking spends the caller\'s tokens, so an agent cannot flood the approval queue', async () => {
    const stack = await startStack({ limits: { perCaller: '2/min' } });
    try {
      const mass = (n: number) => text(`everyone ${n}`, { mentioned_list: ['@all'] });
      assert.equal((await stack.send('ops', mass(1))).status, 202);
      assert.equal((await stack.send('ops', mass(2))).status, 202);
      assert.equal((await stack.send('ops', mass(3))).status, 429);
    } finally {
      await stack.close();
    }
  });
});
