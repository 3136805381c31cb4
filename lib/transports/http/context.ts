import type http from 'node:http';
import type { ResolvedConfig } from '../../config/load.js';
import type { AuditRecord } from '../../audit/audit.js';
import type { UpstreamProxy } from '../../upstream/proxy.js';
import type { AppClient } from '../../apps/client.js';
import type { MintedTokens } from '../../apps/minted-tokens.js';
import type { RoutedRequest } from '../../request/route.js';
import type { Limits } from '../../limits/limiter.js';
import type { Pipeline, PipelineDeps } from '../../pipeline/pipeline.js';
import type { Request } from '../../pipeline/request.js';

/** What the HTTP transport needs, built once by createFirewall. */
export interface HttpDeps {
  config: ResolvedConfig;
  limits: Limits;
  audit: PipelineDeps['audit'] & { record(entry: AuditRecord): void };
  log: PipelineDeps['log'];
  pipeline: Pipeline;
  proxy: UpstreamProxy;
  apps: AppClient;
  minted: MintedTokens;
}

/** One HTTP request on its way: the adapter's view of it before it becomes a pipeline Request. */
export interface HttpContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  requestId: string;
  caller: string;
  record: AuditRecord;
  routed: RoutedRequest;
  deps: HttpDeps;
}

/** The parts of a pipeline Request every HTTP route fills the same way. */
export function requestOf(ctx: HttpContext, fields: Omit<Request, 'requestId' | 'caller' | 'route' | 'method' | 'path' | 'record'>): Request {
  const { routed } = ctx;
  return { requestId: ctx.requestId, caller: ctx.caller, route: routed.route, method: routed.method, path: routed.path, record: ctx.record, ...fields };
}
