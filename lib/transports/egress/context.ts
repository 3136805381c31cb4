import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Firewall } from '../../firewall.js';
import type { LeafCertificates } from '../../egress/leaves.js';
import type { Lookup } from '../../egress/addresses.js';
import type { AuditRecord } from '../../audit/audit.js';
import { FirewallError } from '../../errors.js';
import { throttle, type Throttled } from '../../log-throttle.js';

/** What the egress adapter's parts share: the firewall (its handler, config, audit, log) and the listener's state. */
export interface EgressContext {
  firewall: Firewall;
  leaves: LeafCertificates;
  /** The egress listener: intercepted TLS sockets are handed to it as connections, so its limits and graceful stop apply to them. */
  server: http.Server;
  /** Blind tunnels open now: cut when the listener stops. */
  tunnels: Set<Socket>;
  lookup?: Lookup;
  /** How long a client has to finish its TLS handshake inside a tunnel. */
  handshakeTimeoutMs: number;
  logRefusal: Throttled;
}

export type EgressRoute = 'egress.connect' | 'egress.request' | 'egress.tls';

export function newContext(firewall: Firewall, leaves: LeafCertificates, lookup?: Lookup): EgressContext {
  const log = firewall.log;
  return {
    firewall,
    leaves,
    server: undefined as unknown as http.Server, // set by the listener before it accepts anything
    tunnels: new Set(),
    lookup,
    handshakeTimeoutMs: firewall.config.server.headersTimeoutMs,
    // Every refusal is audited; the log is thinned so a scan cannot flood it (as on listen).
    logRefusal: throttle(10_000, 10, (n) => log.warn('egress refusals not logged in the last window (each is audited)', { suppressed: n })),
  };
}

/** A record for the audit log of something the egress adapter decided itself (the pipeline audits the rest). */
export function egressRecord(route: EgressRoute, requestId: string, who: string, host: string | undefined): AuditRecord & { started: number } {
  // The host is what the client asked for: bounded, so a hostile CONNECT line cannot bloat the audit.
  return { decision: 'rejected', request_id: requestId, who, what: { route, host: host?.slice(0, 255) }, started: performance.now() };
}

/**
 * Writes an egress record to the audit log: a refusal (with the error the client was answered, if it
 * could be answered at all: a failed TLS handshake cannot), or a tunnel opened. Refusals also get a
 * throttled log line.
 */
export function audit(ctx: EgressContext, entry: AuditRecord & { started: number }, outcome: { error?: FirewallError; reason?: string } = {}): void {
  const { started, ...record } = entry;
  const reason = outcome.reason ?? outcome.error?.message;
  if (outcome.error) record.errcode = outcome.error.errcode;
  if (reason) record.why = { reason };
  record.latency_ms = Math.round((performance.now() - started) * 100) / 100;
  if (record.decision === 'rejected') {
    ctx.logRefusal(() => ctx.firewall.log.warn('egress proxy refused', { request_id: record.request_id, who: record.who, route: record.what.route, host: record.what.host, code: outcome.error?.code, reason }));
  }
  ctx.firewall.audit.record(record);
}
