import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError, type CircuitBreakerPolicy } from 'cockatiel';
import { FirewallError, type ErrorCode } from '../errors.js';
import type { ResilienceConfig } from '../config/load.js';
import type { Cooldowns } from '../limits/cooldowns.js';
import { UpstreamFailure } from './failure.js';
import type { UpstreamAnswer } from './send.js';

// The one guard every call to WeCom goes through: the live robot forward (proxy.ts), approved
// messages and notification cards (send.ts) and the app API with its gettoken (apps/client.ts).
//
// What is retried, and why. The rule is "never two": a request is sent again only when WeCom
// certainly did not act on it.
//   - no connection (refused, DNS, unreachable, connect timeout)            retried, counts as unwell
//   - errcode -1 "system busy" (WeCom's docs: retry, at most 3 times)        retried, counts as unwell
//   - errcode 45033 "too many concurrent calls"                              retried, WeCom is well
//   - HTTP 502 / 503: WeCom answers every call with HTTP 200, so a 5xx comes from a gateway in
//     front of it. 502 (no usable backend) and 503 (shedding load) are answered without a backend
//     acting on the request                                                  retried, counts as unwell
//   - HTTP 500 / 504 / other 5xx: the gateway had handed the request on (504: the backend did not
//     answer in time; 500: it failed while handling it), so WeCom may have acted
//                                                                            NOT retried, unwell
//   - no answer in upstreamTimeout after the request was sent, or the connection broke after it
//     was sent: ambiguous                                                    NOT retried, unwell
//   - HTTP 200 that is not WeCom's JSON (a proxy's or captive portal's HTML): we cannot tell who
//     answered or whether WeCom acted                                        NOT retried, unwell
//   - 45009 "api freq out of limit": WeCom's answer is relayed, and the robot or app cools down:
//     answered here with 429 / 45009 and Retry-After until `cooldown` ends   NOT retried, WeCom is well
//   - any other errcode (40058, 93000, ...): a refusal that will not change NOT retried, WeCom is well
// Idempotent calls (gettoken, media/get: reads) may be repeated after an ambiguous failure too.
//
// Backoff: exponential with full jitter, delay = random(0, min(maxDelay, baseDelay * 2^(n-1))), so
// many agents failing together do not come back in step. A retry is made only while its delay ends
// within `budget` of the first attempt. Defaults (config/load.ts RESILIENCE_DEFAULTS):
//   retries 2      3 attempts in all, within WeCom's "retry -1 at most 3 times".
//   baseDelay 250ms, maxDelay 2s
//                  the retries add at most 250 + 500 ms (on average half that): a blip is ridden
//                  out while the agent waits far less than any client timeout (commonly 10-30 s).
//                  maxDelay only matters with more retries.
//   budget 5s      the time retries may add up to: half of upstreamTimeout's 10 s default and well
//                  under the client timeouts agents use; a connect that timed out after 10 s is
//                  therefore not tried again for an agent that is waiting.
//   breaker.failures 5
//                  consecutive unwell outcomes (each attempt counts), so one request that failed
//                  three times cannot open the circuit alone, but two in a row that did, in an
//                  outage, do: the agents after them are refused at once instead of each waiting.
//   breaker.halfOpenAfter 30s
//                  then ONE probe request goes through (the others are refused at once, not queued
//                  behind it); success closes the circuit, failure opens it for another 30 s. A
//                  probe every 30 s is gentle on a struggling WeCom and costs at most 30 s of
//                  refusals after it recovers.
//   cooldown 60s   WeCom's robot limit is 20 per minute; when its block lifts is unconfirmed, so the
//                  longest a rolling minute can hold it.
//
// The circuit is per upstream (one per guard, one guard per firewall). While it is open every call
// is refused at once with 503 / 9900016 and Retry-After, without calling WeCom.

export type CircuitStatus = 'closed' | 'open' | 'half-open';

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  /** The outcome that is retried: `errcode -1`, `http 503`, `unreachable`, ... */
  reason: string;
}

export interface GuardEvents {
  circuit: [state: CircuitStatus];
  retry: [event: RetryEvent];
  cooldown: [event: { target: string; ms: number }];
}

/** What metrics and readiness read; cheap, computed on demand. */
export interface GuardState {
  upstream: string;
  circuit: CircuitStatus;
  /** Retries made since start. */
  retries: number;
  /** Calls refused because the circuit was open. */
  circuitRefusals: number;
  cooldowns: Array<{ target: string; remainingMs: number }>;
}

export interface CallOptions {
  /** `robot:<alias>` or `app:<name>`: whose cooldown applies and starts on 45009. */
  target?: string;
  /** The answer must be WeCom's JSON (false for media/get, whose answer is a file). Default true. */
  expectJson?: boolean;
  /** A read: safe to repeat even when an attempt may have reached WeCom. Default false. */
  idempotent?: boolean;
  /** Wait out a cooldown up to this long instead of refusing (approved messages). Default 0. */
  waitCooldownMs?: number;
}

/** A refusal after the guard's work, with what the audit needs. */
export class UpstreamRefusal extends FirewallError {
  constructor(
    code: ErrorCode,
    detail: string,
    /** Attempts made (0: WeCom was not called). */
    readonly attempts: number,
    /** true when WeCom may have the message (a timeout or break after sending). */
    readonly mayHaveArrived: boolean,
    options: { headers?: Record<string, string>; cause?: unknown; upstreamStatus?: number; upstreamErrcode?: number } = {},
  ) {
    super(code, detail, options);
    this.upstreamStatus = options.upstreamStatus;
    this.upstreamErrcode = options.upstreamErrcode;
  }
  readonly upstreamStatus?: number;
  readonly upstreamErrcode?: number;
}

/** An answer the breaker counts as a failure; thrown inside cockatiel only, never out of the guard. */
class UnwellAnswer {
  constructor(readonly answer: UpstreamAnswer) {}
}

/**
 * The half-open probe ended without an answer for another reason (the agent went away): cockatiel
 * would count that as a success and close the circuit on no evidence, so it counts as a failure.
 * Unwrapped to the original error outside the breaker.
 */
class ProbeAborted {
  constructor(readonly cause: unknown) {}
}

type Verdict = 'final' | 'retry' | 'retry-unwell' | 'unwell-final' | 'bad';

/** What one answer means (see the table at the top). */
function verdictOf(a: UpstreamAnswer, expectJson: boolean): Verdict {
  if (a.relayed) return 'final';
  if (a.status >= 500) return a.status === 502 || a.status === 503 ? 'retry-unwell' : 'unwell-final';
  if (a.errcode === -1) return 'retry-unwell';
  if (a.errcode === 45033) return 'retry';
  if (expectJson && a.status === 200 && a.errcode === undefined) return 'bad';
  return 'final';
}

const UNWELL = new Set<Verdict>(['retry-unwell', 'unwell-final', 'bad']);

const STATUS: Record<CircuitState, CircuitStatus> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

export class UpstreamGuard extends EventEmitter<GuardEvents> {
  private readonly breaker: CircuitBreakerPolicy;
  private openedAt = 0;
  private retries = 0;
  private circuitRefusals = 0;

  constructor(
    private readonly upstream: URL,
    private readonly settings: ResilienceConfig,
    readonly cooldowns: Cooldowns,
    private readonly random: () => number = Math.random,
  ) {
    super();
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof UpstreamFailure || err instanceof UnwellAnswer || err instanceof ProbeAborted),
      { breaker: new ConsecutiveBreaker(settings.breaker.failures), halfOpenAfter: settings.breaker.halfOpenAfterMs },
    );
    this.breaker.onBreak(() => (this.openedAt = Date.now()));
    this.breaker.onStateChange((s) => this.emit('circuit', STATUS[s]));
  }

  get circuit(): CircuitStatus {
    return STATUS[this.breaker.state];
  }

  /** For readiness: refusing calls right now (open and not yet due for a probe, or probing). */
  circuitOpen(): boolean {
    const s = this.breaker.state;
    return s === CircuitState.HalfOpen || (s !== CircuitState.Closed && this.retryAfterMs() > 0);
  }

  state(): GuardState {
    return { upstream: this.upstream.origin, circuit: this.circuit, retries: this.retries, circuitRefusals: this.circuitRefusals, cooldowns: this.cooldowns.active() };
  }

  /**
   * Runs `attempt` (one request to WeCom, the same bytes each time) under the cooldown, the circuit
   * breaker and the retry rules. Resolves with WeCom's answer to relay (its `attempts` set), or
   * throws an UpstreamRefusal (a FirewallError) to answer instead; any other error (the agent went
   * away) is thrown as it is.
   */
  async call<A extends UpstreamAnswer>(options: CallOptions, attempt: () => Promise<A>): Promise<A> {
    const { target, expectJson = true, idempotent = false } = options;
    // One Map lookup on the hot path; the await only when the target does cool down.
    if (target !== undefined && this.cooldowns.remainingMs(target) > 0) await this.coolingDown(target, options.waitCooldownMs ?? 0);
    const { retries, baseDelayMs, maxDelayMs, budgetMs } = this.settings;
    const started = Date.now();
    // The breaker sees unwell answers as failures (thrown inside it only); the rest as successes.
    const run = () => {
      // cockatiel runs the probe before it records the half-open state: any state but closed here
      // means this attempt is the probe.
      const probing = this.breaker.state !== CircuitState.Closed;
      return attempt().then(
        (a) => (UNWELL.has(verdictOf(a, expectJson)) ? Promise.reject(new UnwellAnswer(a)) : a),
        (err: unknown) => Promise.reject(probing && !(err instanceof UpstreamFailure) ? new ProbeAborted(err) : err),
      );
    };
    for (let n = 1; ; n++) {
      // Half-open: one probe is on its way; cockatiel would queue the rest behind it (up to
      // upstreamTimeout), but an agent is better served by an immediate, clear refusal.
      if (this.breaker.state === CircuitState.HalfOpen) throw this.refuseOpen(n - 1);
      let answer: A | undefined;
      let failure: UpstreamFailure | undefined;
      try {
        answer = await this.breaker.execute(run);
      } catch (err) {
        if (isBrokenCircuitError(err)) throw this.refuseOpen(n - 1);
        if (err instanceof ProbeAborted) throw err.cause;
        if (err instanceof UnwellAnswer) answer = err.answer as A;
        else if (err instanceof UpstreamFailure) failure = err;
        else throw err;
      }

      const verdict = answer ? verdictOf(answer, expectJson) : undefined;
      const again = answer ? verdict === 'retry' || verdict === 'retry-unwell' : failure!.transient && (!failure!.mayHaveArrived || idempotent);
      if (!again && answer && verdict !== 'unwell-final' && verdict !== 'bad') return this.settle(answer, n, target);
      const delay = this.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
      const circuitOpened = this.breaker.state !== CircuitState.Closed;
      if (!again || n > retries || circuitOpened || Date.now() - started + delay > budgetMs) {
        if (answer) return this.exhausted(answer, n, verdict!);
        throw this.refuseFailure(failure!, n);
      }
      this.retries++;
      this.emit('retry', { attempt: n, delayMs: Math.round(delay), reason: answer ? describe(answer) : failure!.kind });
      await sleep(delay);
    }
  }

  /** A final answer from WeCom: relayed as it is; a 45009 starts the target's cooldown. */
  private settle<A extends UpstreamAnswer>(answer: A, attempts: number, target: string | undefined): A {
    if (answer.errcode === 45009 && target !== undefined) {
      this.cooldowns.start(target, this.settings.cooldownMs);
      this.emit('cooldown', { target, ms: this.settings.cooldownMs });
    }
    answer.attempts = attempts;
    return answer;
  }

  /**
   * The last answer after retries ran out (or one that is never retried). WeCom's own JSON (-1,
   * 45033 at HTTP 200) is relayed unchanged, like any WeCom error; a gateway's page is not WeCom's
   * answer and becomes our refusal, saying whether WeCom may have the message.
   */
  private exhausted<A extends UpstreamAnswer>(answer: A, attempts: number, verdict: Verdict): A {
    const opts = { upstreamStatus: answer.status, upstreamErrcode: answer.errcode };
    if (answer.status === 502 || answer.status === 503) throw new UpstreamRefusal('UPSTREAM_UNAVAILABLE', `a gateway in front of WeCom answered HTTP ${answer.status} (${attempts} attempts)`, attempts, false, opts);
    if (answer.status === 504) throw new UpstreamRefusal('UPSTREAM_TIMEOUT', 'a gateway in front of WeCom answered HTTP 504', attempts, true, opts);
    if (answer.status >= 500) throw new UpstreamRefusal('UPSTREAM_OUTCOME_UNKNOWN', `a gateway in front of WeCom answered HTTP ${answer.status}`, attempts, true, opts);
    if (verdict === 'bad') throw new UpstreamRefusal('UPSTREAM_BAD_ANSWER', `HTTP ${answer.status} with a ${String(answer.headers['content-type'] ?? 'missing')} content-type`, attempts, true, opts);
    answer.attempts = attempts;
    return answer;
  }

  private refuseFailure(failure: UpstreamFailure, attempts: number): UpstreamRefusal {
    const code: ErrorCode = failure.kind === 'timeout' ? 'UPSTREAM_TIMEOUT' : failure.kind === 'unreachable' ? 'UPSTREAM_UNAVAILABLE' : failure.kind === 'bad_answer' ? 'UPSTREAM_BAD_ANSWER' : 'UPSTREAM_OUTCOME_UNKNOWN';
    return new UpstreamRefusal(code, `${failure.message} (${attempts} attempt${attempts > 1 ? 's' : ''})`, attempts, failure.mayHaveArrived, { cause: failure });
  }

  private refuseOpen(attempts: number): UpstreamRefusal {
    this.circuitRefusals++;
    const seconds = Math.max(1, Math.ceil(this.retryAfterMs() / 1000));
    return new UpstreamRefusal('UPSTREAM_CIRCUIT_OPEN', `retry in ${seconds}s`, attempts, false, { headers: { 'Retry-After': String(seconds) } });
  }

  private retryAfterMs(): number {
    return this.openedAt + this.settings.breaker.halfOpenAfterMs - Date.now();
  }

  private async coolingDown(target: string, waitMs: number): Promise<void> {
    const left = this.cooldowns.remainingMs(target);
    if (left <= 0) return;
    if (left <= waitMs) return void (await sleep(left));
    const seconds = Math.max(1, Math.ceil(left / 1000));
    throw new FirewallError('RATE_LIMITED', `WeCom answered 45009 for this ${target.split(':')[0]}: cooling down, retry in ${seconds}s (WeCom was not called)`, { headers: { 'Retry-After': String(seconds) } });
  }
}

function describe(a: UpstreamAnswer): string {
  return a.status === 200 ? `errcode ${a.errcode}` : `http ${a.status}`;
}
