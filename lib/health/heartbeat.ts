import { randomUUID } from 'node:crypto';
import type { Logger } from 'winston';
import type { AuditLog } from '../audit/audit.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Metrics } from '../metrics/metrics.js';
import type { UpstreamAnswer } from '../upstream/send.js';
import type { Reservation } from '../limits/limiter.js';
import { spending } from '../upstream/outcome.js';

// The heartbeat: a synthetic message to a chosen robot on a schedule, through the same path as
// agents' messages, so a dead key, a revoked robot or an unreachable WeCom shows up before an agent
// needs it. After `failAfter` failures in a row it alerts once (error log, metric, and a message to
// the alert robot if one is set); when a beat gets through again it says so.

export interface HeartbeatDeps {
  everyMs: number;
  failAfter: number;
  /** Posts one heartbeat; resolves with why it failed, or undefined when WeCom accepted it. */
  beat: () => Promise<string | undefined>;
  /** Posts an alert to the ops robot, if configured; failures are only logged. */
  alert?: (text: string) => Promise<unknown>;
  log: Logger;
  onResult?: (consecutiveFailures: number, ok: boolean) => void;
}

export class Heartbeat {
  private failures = 0;
  private alerted = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly deps: HeartbeatDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.everyMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** One beat (the timer calls it; specs call it directly). Overlapping beats are skipped. */
  tick(): Promise<void> {
    this.running ??= this.beatOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async beatOnce(): Promise<void> {
    const { deps } = this;
    let failure: string | undefined;
    try {
      failure = await deps.beat();
    } catch (err) {
      failure = String((err as Error).message ?? err);
    }
    if (failure === undefined) {
      if (this.alerted) {
        deps.log.info('heartbeat recovered', { after_failures: this.failures });
        await this.tell(`wecom-firewall: heartbeat recovered after ${this.failures} failed beats`);
      }
      this.failures = 0;
      this.alerted = false;
    } else {
      this.failures++;
      deps.log.warn('heartbeat failed', { consecutive: this.failures, cause: failure });
      if (this.failures >= deps.failAfter && !this.alerted) {
        this.alerted = true;
        deps.log.error('heartbeat failing repeatedly: messages to WeCom may not be getting through', { consecutive: this.failures, cause: failure });
        await this.tell(`wecom-firewall: heartbeat failed ${this.failures} times in a row (last: ${failure})`);
      }
    }
    deps.onResult?.(this.failures, failure === undefined);
  }

  private async tell(text: string): Promise<void> {
    try {
      await this.deps.alert?.(text);
    } catch (err) {
      this.deps.log.warn('alert message not posted', { cause: String((err as Error).message ?? err) });
    }
  }
}

export interface HeartbeatWiring {
  /** Takes a token from the robot's bucket without waiting; throws when it is spent. */
  take: (robot: string) => Promise<Reservation>;
  /** Posts a message through a robot with its real key (through the upstream guard). */
  postAs: (robot: string, body: object) => Promise<UpstreamAnswer>;
  audit: AuditLog;
  log: Logger;
  metrics: Metrics;
  redact: (text: string) => string;
}

/** The configured heartbeat, started: each beat and alert audited, results in the metrics. */
export function startHeartbeat(hb: NonNullable<ResolvedConfig['heartbeat']>, w: HeartbeatWiring): Heartbeat {
  const text = (content: string) => ({ msgtype: 'text', text: { content } });
  const heartbeat = new Heartbeat({
    everyMs: hb.everyMs,
    failAfter: hb.failAfter,
    beat: async () => {
      const started = Date.now();
      const record = { decision: 'heartbeat' as const, request_id: randomUUID(), who: 'system:heartbeat', what: { route: 'webhook.send', robot: hb.robot, msgtype: 'text' } };
      let tokens: Reservation;
      try {
        tokens = await w.take(hb.robot);
      } catch {
        return undefined; // the robot's bucket is spent by real traffic: that is not an outage
      }
      try {
        const answer = await spending(tokens, () => w.postAs(hb.robot, text(`wecom-firewall heartbeat ${new Date().toISOString()}`)));
        w.audit.record({ ...record, upstream_status: answer.status, upstream_errcode: answer.errcode, latency_ms: Date.now() - started });
        return answer.status === 200 && answer.errcode === 0 ? undefined : `HTTP ${answer.status}, errcode ${answer.errcode ?? 'none'}`;
      } catch (err) {
        w.audit.record({ ...record, upstream_status: 0, latency_ms: Date.now() - started });
        return w.redact(String((err as Error).message ?? err));
      }
    },
    alert: hb.alertRobot
      ? async (message) => {
          const answer = await w.postAs(hb.alertRobot!, text(message));
          w.audit.record({ decision: 'alert', request_id: randomUUID(), who: 'system:heartbeat', what: { route: 'webhook.send', robot: hb.alertRobot, msgtype: 'text' }, upstream_status: answer.status, upstream_errcode: answer.errcode });
        }
      : undefined,
    log: w.log,
    onResult: (failures, ok) => {
      w.metrics.heartbeatFailures.set(failures);
      if (ok) w.metrics.heartbeatLastSuccess.set(Date.now() / 1000);
    },
  });
  heartbeat.start();
  return heartbeat;
}
