import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditLog, AuditRecord } from '../audit/audit.js';

// Prometheus metrics, on a registry of the firewall's own (two firewalls in one process, as in the
// specs or an embedding app, do not collide). Decisions are counted from the audit records, so every
// decision that is audited is counted, by the same names. Label values come from the config (robot
// and app names, rule names, routes) or from WeCom (errcodes), never from the agent: an unknown
// alias is counted as "unknown", whatever it was.

/** Decisions that answer an agent's request (the rest are approval events and the firewall's own sends). */
const REQUEST_DECISIONS = new Set<string>(['forwarded', 'rejected', 'parked', 'rate_limited', 'upstream_error', 'token_issued', 'duplicate']);

export type CircuitState = 'closed' | 'open' | 'half-open';

export class Metrics {
  readonly registry = new Registry();
  private readonly decisions = new Counter({ name: 'wecom_firewall_decisions_total', help: 'Decisions and approval events, by route, robot or app, rule and decision', labelNames: ['route', 'target', 'rule', 'decision'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'wecom_firewall_request_duration_seconds',
    help: 'Time from request to answer at the firewall, by route and decision',
    labelNames: ['route', 'decision'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly upstream = new Counter({ name: 'wecom_firewall_upstream_answers_total', help: "WeCom's answers, by route, HTTP status and errcode", labelNames: ['route', 'status', 'errcode'], registers: [this.registry] });
  private readonly refusals = new Counter({ name: 'wecom_firewall_limiter_refusals_total', help: 'Requests refused by a rate limit or the approval queue bound, by robot or app', labelNames: ['target'], registers: [this.registry] });
  readonly circuit = new Gauge({ name: 'wecom_firewall_circuit_state', help: 'Circuit breaker toward WeCom: 0 closed, 1 open, 2 half-open', labelNames: ['upstream'], registers: [this.registry] });
  readonly heartbeatFailures = new Gauge({ name: 'wecom_firewall_heartbeat_consecutive_failures', help: 'Heartbeat messages that failed in a row', registers: [this.registry] });
  readonly heartbeatLastSuccess = new Gauge({ name: 'wecom_firewall_heartbeat_last_success_timestamp_seconds', help: 'When a heartbeat message last reached WeCom', registers: [this.registry] });
  readonly reloads = new Counter({ name: 'wecom_firewall_reloads_total', help: 'Config and policy reloads, by result', labelNames: ['result'], registers: [this.registry] });
  private readonly monitored = new Counter({ name: 'wecom_firewall_policy_monitor_total', help: 'Requests a rule in mode monitor applied to, by rule and what it would have decided (not enforced)', labelNames: ['rule', 'would'], registers: [this.registry] });
  readonly botFrames = new Counter({ name: 'wecom_firewall_bot_frames_total', help: 'Bot WebSocket frames passed through without an audit line each (pings, upload chunks) and inbound callbacks and events, by bot', labelNames: ['bot', 'frame'], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'wecom_firewall_duplicates_total', help: 'Repeated requests answered with the first answer, by route', labelNames: ['route'], registers: [this.registry] });

  /** `pending` and `healthy` are read at scrape time. */
  constructor(probes: { pending: () => number; auditHealthy: () => boolean }) {
    new Gauge({
      name: 'wecom_firewall_approvals_pending',
      help: 'Messages waiting for approval',
      registers: [this.registry],
      collect() {
        try {
          this.set(probes.pending());
        } catch {
          this.set(-1); // the store does not answer: /readyz says so too
        }
      },
    });
    new Gauge({
      name: 'wecom_firewall_audit_healthy',
      help: '1 while the audit log accepts writes; 0 means every request is refused',
      registers: [this.registry],
      collect() {
        this.set(probes.auditHealthy() ? 1 : 0);
      },
    });
  }

  observe(r: AuditRecord): void {
    const route = r.what.route ?? 'none';
    const target = r.what.robot === undefined ? 'none' : r.what.robot.startsWith('unknown:') ? 'unknown' : r.what.robot;
    this.decisions.inc({ route, target, rule: r.why?.rule ?? 'none', decision: r.decision });
    if (r.latency_ms !== undefined && REQUEST_DECISIONS.has(r.decision)) this.latency.observe({ route, decision: r.decision }, r.latency_ms / 1000);
    if (r.upstream_status !== undefined) this.upstream.inc({ route, status: String(r.upstream_status), errcode: r.upstream_errcode === undefined ? 'none' : String(r.upstream_errcode) });
    if (r.decision === 'rate_limited') this.refusals.inc({ target });
    if (r.decision === 'duplicate') this.duplicates.inc({ route });
    for (const m of r.why?.monitor ?? []) this.monitored.inc({ rule: m.rule, would: m.would });
  }

  setCircuit(upstream: string, state: CircuitState): void {
    this.circuit.set({ upstream }, state === 'closed' ? 0 : state === 'open' ? 1 : 2);
  }
}

/** The audit log, with every record also counted. */
export function countedAudit(audit: AuditLog, metrics: Metrics): AuditLog {
  return {
    record(entry) {
      audit.record(entry);
      metrics.observe(entry);
    },
    healthy: () => audit.healthy(),
    flush: () => audit.flush(),
    close: () => audit.close(),
  };
}
