import type http from 'node:http';
import type { Logger } from 'winston';
import type { ResolvedConfig } from '../config/load.js';
import type { PolicySet } from '../policy/compile.js';
import type { Limits } from '../limits/limiter.js';
import type { Approvals } from '../approvals/service.js';
import type { AuditLog, AuditRecord } from '../audit/audit.js';
import type { UpstreamProxy } from '../upstream/proxy.js';
import type { AppClient } from '../apps/client.js';
import type { MintedTokens } from '../apps/minted-tokens.js';
import type { RoutedRequest } from '../request/route.js';
import type { Dedupe } from '../dedupe/dedupe.js';

/** Everything the request path needs, built once by createFirewall. */
export interface ProxyHandlerDeps {
  config: ResolvedConfig;
  policies: () => PolicySet;
  limits: Limits;
  approvals: Approvals;
  audit: AuditLog;
  proxy: UpstreamProxy;
  apps: AppClient;
  minted: MintedTokens;
  log: Logger;
  /** Remembers answers to repeated requests; undefined when dedupe.enabled is false. */
  dedupe?: Dedupe;
}

/** One request on its way through the firewall. `record` becomes its audit line. */
export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  requestId: string;
  /** Who is calling: its name under `callers:`, or without callers, its (loopback) address. */
  caller: string;
  record: AuditRecord;
  routed: RoutedRequest;
  deps: ProxyHandlerDeps;
}
