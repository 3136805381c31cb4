import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FirewallError } from '../../lib/errors.js';
import { Limits, Reservation, type Ask } from '../../lib/limits/limiter.js';
import { parseRate } from '../../lib/config/units.js';
import { RollingWindow } from '../../lib/simulator/rate.js';

const robot = (name: string, limit: string) => ({ kind: 'robot' as const, name, limit: parseRate(limit) });
const to = (name: string, caller = 'a'): Ask => ({ caller, target: { kind: 'robot', name } });

/** A clock the spec moves by hand. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function refusal(p: Promise<unknown>): Promise<FirewallError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FirewallError);
    return err;
  }
  assert.fail('not refused');
}

describe('Limits', () => {
  it('allows a robot its limit, then refuses with 429, 45009 and Retry-After', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '3/min')]);
    for (let i = 0; i < 3; i++) await limits.take(to('ops'));
    const err = await refusal(limits.take(to('ops')));
    assert.equal(err.status, 429);
    assert.equal(err.errcode, 45009);
    const retry = Number(err.headers['Retry-After']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  });

  it('keeps robots apart', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '1/min'), robot('team', '1/min')]);
    await limits.take(to('ops'));
    await limits.take(to('team'));
    await refusal(limits.take(to('ops')));
  });

  it('limits per caller and globally, and a refusal spends no tokens of the earlier buckets', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0, global: parseRate('3/min'), perCaller: parseRate('2/min') }, [robot('ops', '1/min'), robot('team', '10/min')]);
    await limits.take(to('ops'));
    // refused by the robot bucket: the global and caller tokens were never taken
    await refusal(limits.take(to('ops')));
    await refusal(limits.take(to('ops')));
    await limits.take(to('team'));
    assert.match((await refusal(limits.take(to('team')))).message, /caller/);
    await limits.take(to('team', 'b'));
    assert.match((await refusal(limits.take(to('team', 'c')))).message, /global/);
  });

  it('is a rolling window: 20/min admits at most 20 in any 60 s, never 40 across a window edge (fixed-window bug)', () => {
    const clock = fakeClock();
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '20/min')], undefined, clock.now);
    // 20 sends near the end of a minute that opened with a first send
    assert.ok(limits.tryTake(to('ops')) instanceof Reservation);
    clock.advance(59_000);
    for (let i = 0; i < 19; i++) assert.ok(limits.tryTake(to('ops')) instanceof Reservation);
    // A fixed window opened at the first send would refill 1 s later; a rolling one frees one slot only.
    clock.advance(1_000);
    assert.ok(limits.tryTake(to('ops')) instanceof Reservation, 'the first send aged out');
    const full = limits.tryTake(to('ops'));
    assert.ok(!(full instanceof Reservation));
    assert.equal(full.bucket, 'robot');
    assert.equal(full.waitMs, 59_000, 'the 19 sends of t=59 s free their slots at t=119 s');
  });

  it('property: accepted sends never exceed the limit in any rolling window, as the simulator counts (fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 7_000 }), fc.boolean()), { minLength: 1, maxLength: 300 }), (steps) => {
        const clock = fakeClock();
        const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '5/min')], undefined, clock.now);
        const wecom = new RollingWindow(5);
        for (const [gap, giveBack] of steps) {
          clock.advance(gap);
          const got = limits.tryTake(to('ops'));
          if (!(got instanceof Reservation)) continue;
          if (giveBack) {
            got.release(); // nothing was sent
            continue;
          }
          assert.equal(wecom.isFull('ops', clock.now()), false, `WeCom would answer 45009 at ${clock.now()}`);
          wecom.record('ops', clock.now());
          got.keep();
        }
      }),
      { seed: 20261128, numRuns: 300 },
    );
  });

  it('a late refund cannot credit another window (a release removes exactly its own entry)', () => {
    const clock = fakeClock();
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '2/min')], undefined, clock.now);
    const first = limits.tryTake(to('ops'));
    assert.ok(first instanceof Reservation);
    clock.advance(61_000); // the first entry has aged out
    assert.ok(limits.tryTake(to('ops')) instanceof Reservation);
    assert.ok(limits.tryTake(to('ops')) instanceof Reservation);
    first.release(); // late: must not make room for a third in this minute
    assert.ok(!(limits.tryTake(to('ops')) instanceof Reservation));
  });

  it('settles a reservation once: release after keep, or twice, gives nothing back', () => {
    const clock = fakeClock();
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '1/min')], undefined, clock.now);
    const r = limits.tryTake(to('ops'));
    assert.ok(r instanceof Reservation);
    r.keep();
    r.release();
    assert.ok(!(limits.tryTake(to('ops')) instanceof Reservation));
    const limits2 = new Limits({ pacingMaxWaitMs: 0, perCaller: parseRate('2/min') }, [robot('ops', '5/min')], undefined, clock.now);
    const a = limits2.tryTake(to('ops'));
    const b = limits2.tryTake(to('ops'));
    assert.ok(a instanceof Reservation && b instanceof Reservation);
    a.release();
    a.release(); // a second release must not take back b's entry
    assert.ok(limits2.tryTake(to('ops')) instanceof Reservation);
    assert.ok(!(limits2.tryTake(to('ops')) instanceof Reservation));
  });

  it('counts a send from when WeCom answered (keep), since WeCom counts it on arrival', () => {
    const clock = fakeClock();
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '1/min')], undefined, clock.now);
    const r = limits.tryTake(to('ops'));
    assert.ok(r instanceof Reservation);
    clock.advance(5_000); // WeCom answered 5 s later
    r.keep();
    clock.advance(56_000); // 61 s after the take, 56 s after the answer
    const full = limits.tryTake(to('ops'));
    assert.ok(!(full instanceof Reservation));
    assert.equal(full.waitMs, 4_000);
  });

  it('with pacing, waits for a token up to the bound instead of refusing', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 3000 }, [robot('ops', '2/s')]);
    await limits.take(to('ops'));
    await limits.take(to('ops'));
    const third = limits.take(to('ops')); // waits for the first to age out, well within 3 s
    assert.ok((await third) instanceof Reservation);
    const short = new Limits({ pacingMaxWaitMs: 100 }, [robot('ops', '1/min')]);
    await short.take(to('ops'));
    assert.equal((await refusal(short.take(to('ops')))).status, 429);
  });

  it('fails closed for a robot it has no bucket for', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, []);
    assert.equal((await refusal(limits.take(to('ghost')))).status, 503);
  });

  it('drops idle targets and callers: memory does not grow with callers that went quiet', () => {
    const clock = fakeClock();
    const limits = new Limits({ pacingMaxWaitMs: 0, perCaller: parseRate('5/min') }, [robot('ops', '100000/min')], undefined, clock.now);
    for (let i = 0; i < 1000; i++) (limits.tryTake(to('ops', `10.0.${i >> 8}.${i & 255}`)) as Reservation).keep();
    assert.equal(limits.logs.callers.size.keys, 1000);
    clock.advance(61_000);
    assert.ok(limits.tryTake(to('ops', 'late')) instanceof Reservation);
    assert.equal(limits.logs.callers.size.keys, 1, 'the idle callers were swept');
  });

  it('a reload keeps what was sent: new limits count the old sends', () => {
    const clock = fakeClock();
    const before = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '3/min')], undefined, clock.now);
    for (let i = 0; i < 3; i++) assert.ok(before.tryTake(to('ops')) instanceof Reservation);
    const after = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '4/min')], before.logs, clock.now);
    assert.ok(after.tryTake(to('ops')) instanceof Reservation);
    assert.ok(!(after.tryTake(to('ops')) instanceof Reservation));
  });

  it('robots and apps of different periods each keep their own window (limits were exceeded when periods differed)', () => {
    const clock = fakeClock();
    const limits = new Limits(
      { pacingMaxWaitMs: 0 },
      [robot('fast', '5/s'), robot('slow', '20/min'), { kind: 'app' as const, name: 'hr', limit: parseRate('100/day') }],
      undefined,
      clock.now,
    );
    const taken = { slow: 0, hr: 0 };
    for (let t = 0; t < 3_600_000; t += 500) {
      clock.advance(500);
      const fast = limits.tryTake(to('fast'));
      if (fast instanceof Reservation) fast.keep();
      const slow = limits.tryTake(to('slow'));
      if (slow instanceof Reservation && t < 60_000) (slow.keep(), taken.slow++);
      const hr = limits.tryTake({ caller: 'a', target: { kind: 'app', name: 'hr' } });
      if (hr instanceof Reservation) (hr.keep(), taken.hr++);
    }
    assert.equal(taken.slow, 20, 'at most 20 in the first 60 s');
    assert.equal(taken.hr, 100, 'at most 100 in the day');
  });
});
