import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { UpstreamGuard, UpstreamRefusal, type RetryEvent } from '../../lib/upstream/guard.js';
import { UpstreamFailure } from '../../lib/upstream/failure.js';
import { Cooldowns } from '../../lib/limits/cooldowns.js';
import { FirewallError } from '../../lib/errors.js';
import type { ResilienceConfig } from '../../lib/config/load.js';
import type { UpstreamAnswer } from '../../lib/upstream/send.js';

const UPSTREAM = new URL('http://wecom.test');
const settings = (over: Partial<ResilienceConfig> = {}): ResilienceConfig => ({
  retries: 2,
  baseDelayMs: 5,
  maxDelayMs: 20,
  budgetMs: 2000,
  breaker: { failures: 100, halfOpenAfterMs: 100 },
  cooldownMs: 200,
  ...over,
});

const json = (errcode: number, status = 200): UpstreamAnswer => ({ status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ errcode })), errcode });
const html = (status: number): UpstreamAnswer => ({ status, headers: { 'content-type': 'text/html' }, body: Buffer.from('<html></html>') });
const refused = () => new UpstreamFailure('unreachable', false, true, 'refused');
const timedOut = () => new UpstreamFailure('timeout', true, true, 'no answer');

/** An attempt function answering from a script, one entry per call; counts its calls. */
function script(...steps: Array<UpstreamAnswer | UpstreamFailure>) {
  let calls = 0;
  const attempt = async () => {
    const step = steps[Math.min(calls++, steps.length - 1)]!;
    if (step instanceof UpstreamFailure) throw step;
    return { ...step };
  };
  return { attempt, calls: () => calls };
}

/**
 * The clock the guard, its breaker (cockatiel) and the cooldowns read is Date.now: the specs that
 * are about time mock it (t.mock.timers, Date only) and move it with tick(), so "open for 150 ms"
 * is checked at 149 and 150 ms exactly, whatever the machine's load. The guard's own waits
 * (node:timers/promises, imported as a binding the mock does not reach) stay real.
 */
const mockClock = (t: TestContext) => t.mock.timers.enable({ apis: ['Date'], now: 1_750_000_000_000 });

/** Lets every pending continuation run: the guard, its breaker and the scripted attempts are promise-driven (no I/O). */
const settle = () => new Promise<void>((r) => setImmediate(r));

async function refusal(p: Promise<unknown>): Promise<FirewallError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FirewallError, String(err));
    return err;
  }
  assert.fail('not refused');
}

describe('UpstreamGuard: what is retried', () => {
  it('retries errcode -1 with the same attempt and relays the success (3 attempts)', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    const s = script(json(-1), json(-1), json(0));
    const answer = await guard.call({}, s.attempt);
    assert.deepEqual([answer.errcode, answer.attempts, s.calls()], [0, 3, 3]);
    assert.equal(guard.state().retries, 2);
  });

  it('relays WeCom\'s own -1 unchanged once the retries are spent', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    const s = script(json(-1));
    const answer = await guard.call({}, s.attempt);
    assert.deepEqual([answer.status, answer.errcode, answer.attempts, s.calls()], [200, -1, 3, 3]);
  });

  it('retries 45033 (too many concurrent calls) and a refused connection', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    const s = script(json(45033), refused(), json(0));
    assert.equal((await guard.call({}, s.attempt)).errcode, 0);
    assert.equal(s.calls(), 3);
  });

  it('retries a gateway 502/503, and answers 502/-1 (never sent) when they persist', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    const ok = script(html(503), html(502), json(0));
    assert.equal((await guard.call({}, ok.attempt)).errcode, 0);
    const failing = script(html(503));
    const err = await refusal(guard.call({}, failing.attempt));
    assert.ok(err instanceof UpstreamRefusal);
    assert.deepEqual([err.status, err.errcode, err.attempts, err.mayHaveArrived, failing.calls()], [502, -1, 3, false, 3]);
  });

  const never: Array<[string, UpstreamAnswer | UpstreamFailure, number, number]> = [
    ['a timeout after sending (504 / 9900017)', timedOut(), 504, 9900017],
    ['a broken connection after sending (502 / 9900017)', new UpstreamFailure('lost', true, true, 'reset'), 502, 9900017],
    ['a gateway 500 (502 / 9900017)', html(500), 502, 9900017],
    ['a gateway 504 (504 / 9900017)', html(504), 504, 9900017],
    ['HTTP 200 that is not WeCom JSON (502 / 9900018)', html(200), 502, 9900018],
  ];
  for (const [what, step, status, errcode] of never) {
    it(`never resends after ${what}`, async () => {
      const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
      const s = script(step, json(0));
      const err = await refusal(guard.call({}, s.attempt));
      assert.deepEqual([err.status, err.errcode, s.calls()], [status, errcode, 1]);
      assert.ok(err instanceof UpstreamRefusal && err.mayHaveArrived);
    });
  }

  it('never retries a refusal of the content (40058, 93000): relayed as WeCom answered it', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    for (const errcode of [40058, 93000, 44004]) {
      const s = script(json(errcode), json(0));
      assert.equal((await guard.call({}, s.attempt)).errcode, errcode);
      assert.equal(s.calls(), 1);
    }
  });

  it('repeats an idempotent read after a timeout, but not a send', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    const read = script(timedOut(), json(0));
    assert.equal((await guard.call({ idempotent: true }, read.attempt)).errcode, 0);
    assert.equal(read.calls(), 2);
  });

  it('accepts a non-JSON answer where a file is expected (media/get)', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings(), new Cooldowns());
    const s = script({ status: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from('png') });
    assert.equal((await guard.call({ expectJson: false }, s.attempt)).status, 200);
  });
});

describe('UpstreamGuard: backoff', () => {
  it('waits random(0, min(maxDelay, baseDelay * 2^(n-1))): full jitter, capped', async () => {
    const delays: number[] = [];
    const top = new UpstreamGuard(UPSTREAM, settings({ retries: 3, baseDelayMs: 10, maxDelayMs: 25 }), new Cooldowns(), () => 0.999999);
    top.on('retry', (e: RetryEvent) => delays.push(e.delayMs));
    await top.call({}, script(json(-1)).attempt);
    assert.deepEqual(delays, [10, 20, 25]);
    const zero = new UpstreamGuard(UPSTREAM, settings({ retries: 3, baseDelayMs: 10_000, maxDelayMs: 10_000 }), new Cooldowns(), () => 0);
    const started = Date.now();
    await zero.call({}, script(json(-1)).attempt);
    assert.ok(Date.now() - started < 5000, 'full jitter may wait nothing at all (not 10 s per retry)');
  });

  it('makes no retry whose delay would end past the budget', async (t) => {
    mockClock(t);
    const guard = new UpstreamGuard(UPSTREAM, settings({ retries: 3, baseDelayMs: 100, maxDelayMs: 1000, budgetMs: 150 }), new Cooldowns(), () => 1);
    const s = script(json(-1));
    const call = guard.call({}, s.attempt);
    await settle();
    assert.equal(s.calls(), 1, 'at 0 ms: a 100 ms wait fits the budget');
    t.mock.timers.tick(100); // the clock as it reads once that wait is over
    const answer = await call;
    assert.deepEqual([answer.attempts, s.calls()], [2, 2]); // at 100 ms: 200 ms more would end past 150
  });
});

describe('UpstreamGuard: circuit breaker', () => {
  it('opens after N unwell outcomes, refuses at once with 503/9900016 and Retry-After, and a half-open probe closes it', async (t) => {
    mockClock(t);
    const guard = new UpstreamGuard(UPSTREAM, settings({ retries: 0, breaker: { failures: 3, halfOpenAfterMs: 150 } }), new Cooldowns());
    const states: string[] = [];
    guard.on('circuit', (s) => states.push(s));
    const down = script(refused());
    for (let i = 0; i < 3; i++) await refusal(guard.call({}, down.attempt));
    assert.equal(guard.circuit, 'open');
    assert.equal(guard.circuitOpen(), true);
    const err = await refusal(guard.call({}, down.attempt));
    assert.deepEqual([err.status, err.errcode, down.calls()], [503, 9900016, 3]);
    assert.equal(err.headers['Retry-After'], '1');

    t.mock.timers.tick(149);
    assert.equal(guard.circuitOpen(), true, 'not due for a probe before halfOpenAfter');
    t.mock.timers.tick(1);
    assert.equal(guard.circuitOpen(), false, 'due for a probe');
    let release!: () => void;
    const probe = guard.call({}, () => new Promise<UpstreamAnswer>((r) => (release = () => r(json(0)))));
    await settle();
    assert.equal(guard.circuit, 'half-open');
    const during = await refusal(guard.call({}, down.attempt));
    assert.equal(during.errcode, 9900016, 'one probe at a time; the others are refused, not queued');
    release();
    assert.equal((await probe).errcode, 0);
    assert.equal(guard.circuit, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
    assert.equal(guard.state().circuitRefusals, 2);
  });

  it('does not count refusals of content, 45009 or 45033 as WeCom being unwell', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings({ retries: 0, breaker: { failures: 2, halfOpenAfterMs: 1000 } }), new Cooldowns());
    for (const errcode of [40058, 45033, 93000, 40058, 45033]) await guard.call({}, script(json(errcode)).attempt);
    await guard.call({ target: 'robot:a' }, script(json(45009)).attempt);
    assert.equal(guard.circuit, 'closed');
  });

  it('a failed probe opens it again', async (t) => {
    mockClock(t);
    const guard = new UpstreamGuard(UPSTREAM, settings({ retries: 0, breaker: { failures: 1, halfOpenAfterMs: 50 } }), new Cooldowns());
    assert.equal((await guard.call({}, script(json(-1)).attempt)).errcode, -1, "WeCom's -1 is relayed, and counted");
    assert.equal(guard.circuit, 'open');
    t.mock.timers.tick(50);
    await refusal(guard.call({}, script(html(503)).attempt));
    assert.equal(guard.circuit, 'open');
  });

  it('keeps the circuit open when the probe\'s agent went away (regression: an aborted probe counted as a success)', async (t) => {
    mockClock(t);
    const guard = new UpstreamGuard(UPSTREAM, settings({ retries: 0, breaker: { failures: 1, halfOpenAfterMs: 50 } }), new Cooldowns());
    await guard.call({}, script(json(-1)).attempt);
    assert.equal(guard.circuit, 'open');
    t.mock.timers.tick(50);
    const gone = new Error('the agent disconnected');
    await assert.rejects(guard.call({}, async () => Promise.reject(gone)), (err) => err === gone, 'the original error comes out');
    assert.equal(guard.circuit, 'open');
  });

  it('stops retrying once its own failures opened the circuit', async () => {
    const guard = new UpstreamGuard(UPSTREAM, settings({ retries: 3, breaker: { failures: 2, halfOpenAfterMs: 1000 } }), new Cooldowns());
    const s = script(refused());
    const err = await refusal(guard.call({}, s.attempt));
    assert.deepEqual([err.errcode, s.calls()], [-1, 2]);
  });
});

describe('UpstreamGuard: 45009 cooldown', () => {
  it('relays WeCom\'s 45009, then answers 429/45009 with Retry-After without calling WeCom until the cooldown ends', async (t) => {
    mockClock(t);
    const cooldowns = new Cooldowns();
    const guard = new UpstreamGuard(UPSTREAM, settings({ cooldownMs: 150 }), cooldowns);
    const s = script(json(45009), json(0));
    assert.equal((await guard.call({ target: 'robot:ops' }, s.attempt)).errcode, 45009);
    const err = await refusal(guard.call({ target: 'robot:ops' }, s.attempt));
    assert.deepEqual([err.status, err.errcode, err.code, err.headers['Retry-After'], s.calls()], [429, 45009, 'RATE_LIMITED', '1', 1]);
    assert.equal((await guard.call({ target: 'robot:team' }, s.attempt)).errcode, 0, 'another robot is not held back');
    assert.deepEqual(guard.state().cooldowns.map((c) => c.target), ['robot:ops']);
    t.mock.timers.tick(149);
    assert.equal((await refusal(guard.call({ target: 'robot:ops' }, s.attempt))).errcode, 45009, 'still cooling down 1 ms before the end');
    t.mock.timers.tick(1);
    assert.equal((await guard.call({ target: 'robot:ops' }, s.attempt)).errcode, 0);
    assert.equal(s.calls(), 3, 'ops (45009), team, ops once the cooldown ended');
  });

  it('lets an approved message wait the cooldown out instead of failing', async () => {
    const cooldowns = new Cooldowns();
    cooldowns.start('robot:ops', 80);
    const guard = new UpstreamGuard(UPSTREAM, settings(), cooldowns);
    const started = Date.now();
    assert.equal((await guard.call({ target: 'robot:ops', waitCooldownMs: 1000 }, script(json(0)).attempt)).errcode, 0);
    assert.ok(Date.now() - started >= 70, 'it waited (a lower bound only: a slow machine waits longer)');
  });
});

describe('resilience settings', () => {
  it('defaults: 2 retries, 250 ms base, 2 s cap, 5 s budget, breaker 5 / 30 s, cooldown 60 s; more than 3 retries is refused', async () => {
    const { resolveConfig, ConfigError } = await import('../../lib/config/load.js');
    const base = { dataDir: '/tmp/wf-unused', policies: ['/nonexistent'] };
    assert.deepEqual(resolveConfig(base).resilience, { retries: 2, baseDelayMs: 250, maxDelayMs: 2000, budgetMs: 5000, breaker: { failures: 5, halfOpenAfterMs: 30_000 }, cooldownMs: 60_000 });
    assert.deepEqual(resolveConfig({ ...base, resilience: { retries: 0, breaker: { halfOpenAfter: '5s' } } }).resilience.breaker, { failures: 5, halfOpenAfterMs: 5000 });
    assert.throws(() => resolveConfig({ ...base, resilience: { retries: 5 } }), ConfigError);
    assert.throws(() => resolveConfig({ ...base, resilience: { cooldwn: '1m' } }), /did you mean "cooldown"/);
  });
});
