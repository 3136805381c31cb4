import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../lib/errors.js';
import { Limits, Reservation, newLimitLogs, type Ask } from '../../lib/limits/limiter.js';
import { MAX_MEMBER_SENDS, recipientsOf } from '../../lib/limits/recipients.js';
import { parseRate } from '../../lib/config/units.js';

const apps = [
  { kind: 'app' as const, name: 'helpdesk', limit: parseRate('100000/min') },
  { kind: 'app' as const, name: 'hr', limit: parseRate('100000/min') },
];
const to = (app: string, recipients: string[]): Ask => ({ caller: 'a', target: { kind: 'app', name: app }, recipients });

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('per-member limits', () => {
  it('refuses the 31st message to a member within a minute (WeCom would drop it silently), charging nobody', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, apps);
    for (let i = 0; i < 30; i++) await limits.take(to('helpdesk', ['alice']));
    await assert.rejects(limits.take(to('helpdesk', ['bob', 'alice'])), (e: FirewallError) => e.status === 429 && e.errcode === 45009 && Number(e.headers['Retry-After']) >= 1);
    // bob was not charged by the refused message: he still has all 30
    for (let i = 0; i < 30; i++) await limits.take(to('helpdesk', ['bob']));
    await assert.rejects(limits.take(to('helpdesk', ['bob'])));
    // another app's messages to alice are counted apart
    await limits.take(to('hr', ['alice']));
  });

  it('refuses the 1001st in an hour though no minute had 30', () => {
    const clock = fakeClock();
    const limits = new Limits({ pacingMaxWaitMs: 0 }, apps, undefined, clock.now);
    for (let i = 0; i < 1000; i++) {
      assert.ok(limits.tryTake(to('helpdesk', ['carol'])) instanceof Reservation, `send ${i}`);
      clock.advance(3_000);
    }
    const full = limits.tryTake(to('helpdesk', ['carol']));
    assert.ok(!(full instanceof Reservation));
    assert.equal(full.bucket, 'recipient');
  });

  it('gives a member tokens back when nothing was sent (recipient tokens never returned during an outage)', () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, apps);
    for (let i = 0; i < 30; i++) {
      const r = limits.tryTake(to('helpdesk', ['dave']));
      assert.ok(r instanceof Reservation);
      r.release(); // WeCom unreachable: certainly not sent
    }
    for (let i = 0; i < 30; i++) assert.ok(limits.tryTake(to('helpdesk', ['dave'])) instanceof Reservation);
  });

  it('memory stays bounded however many recipient ids agents invent (memory grows with agent-chosen recipient ids)', () => {
    const clock = fakeClock();
    const logs = newLimitLogs(1000);
    const limits = new Limits({ pacingMaxWaitMs: 0 }, apps, logs, clock.now);
    let refused = 0;
    for (let i = 0; i < 1500; i++) if (!(limits.tryTake(to('helpdesk', [`u${i}`])) instanceof Reservation)) refused++;
    const helpdesk = logs.members.get('helpdesk')!;
    assert.equal(helpdesk.size.entries, 1000);
    assert.equal(refused, 500, 'past the bound new members are refused, not tracked');
    // a message naming many new members is refused whole when it would pass the bound (no overshoot)
    clock.advance(3_600_000 - 1);
    assert.ok(!(limits.tryTake(to('helpdesk', ['x1', 'x2'])) instanceof Reservation));
    assert.equal(helpdesk.size.entries, 1000);
    clock.advance(1_000); // an hour after: every entry has aged out and is swept (sweeps run at most once a second)
    assert.ok(limits.tryTake(to('helpdesk', ['again'])) instanceof Reservation);
    assert.deepEqual(helpdesk.size, { keys: 1, entries: 1 });
    assert.ok(MAX_MEMBER_SENDS >= 100_000);
  });

  it('one app\'s invented ids cannot block another app\'s members (the member bound was shared by every app)', () => {
    const logs = newLimitLogs(100);
    const limits = new Limits({ pacingMaxWaitMs: 0 }, apps, logs);
    assert.ok(limits.tryTake(to('helpdesk', Array.from({ length: 100 }, (_, i) => `made-up-${i}`))) instanceof Reservation);
    assert.ok(!(limits.tryTake(to('helpdesk', ['one-more'])) instanceof Reservation));
    assert.ok(limits.tryTake(to('hr', ['alice'])) instanceof Reservation);
  });

  it('counts a member once whatever the case of the id (WeCom userids are case-insensitive)', () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, apps);
    for (let i = 0; i < 30; i++) assert.ok(limits.tryTake(to('helpdesk', [i % 2 ? 'Alice' : 'alice'])) instanceof Reservation);
    assert.ok(!(limits.tryTake(to('helpdesk', ['ALICE'])) instanceof Reservation));
  });

  it('reads recipients from touser, and none from @all', () => {
    assert.deepEqual(recipientsOf({ touser: 'a|b| c |' }), ['a', 'b', 'c']);
    assert.deepEqual(recipientsOf({ touser: '@all' }), []);
    assert.deepEqual(recipientsOf({ toparty: '1' }), []);
  });
});
