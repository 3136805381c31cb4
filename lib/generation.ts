import { isDeepStrictEqual } from 'node:util';
import { loadConfigFile, resolveConfig, type FirewallConfigInput, type ResolvedConfig } from './config/load.js';
import { PolicyError, PolicySet } from './policy/compile.js';
import { suggest } from './yaml-source.js';
import { Limits } from './limits/limiter.js';

// What a reload replaces as one unit: the config, the policies compiled against it, the buckets and
// who may use the admin API. Built whole (and so validated whole) before anything is swapped.

export type FirewallOptions = ({ configFile: string; env?: NodeJS.ProcessEnv } | { config: FirewallConfigInput; baseDir?: string; env?: NodeJS.ProcessEnv }) & {
  /** The rate limits' clock (monotonic ms). For specs that move time by hand; default performance.now. */
  clock?: () => number;
};

export interface Generation {
  config: ResolvedConfig;
  policies: PolicySet;
  limits: Limits;
  /** Everyone who may use the admin API: the default approvers, every group member, every approver a rule names. */
  everyone: Set<string>;
}

/**
 * Reads the config and policies and compiles them; throws ConfigError / PolicyError naming file and
 * line. The previous generation's logs of what was sent are kept, so a reload does not hand every
 * agent a fresh quota.
 */
export function loadGeneration(options: FirewallOptions, previous?: Generation): Generation {
  const config =
    'configFile' in options ? loadConfigFile(options.configFile, options.env) : resolveConfig(options.config, { baseDir: options.baseDir, env: options.env });
  const policies = new PolicySet(config.policies, { robots: config.robots.keys(), apps: config.apps.keys(), bots: config.bots.keys(), groups: config.approvals.groups, defaultApprovers: config.approvals.approvers });
  checkCallerNames(config, policies);
  const everyone = everyApprover(config.approvals.approvers, config.approvals.groups, policies);
  // The logs of what was sent carry over: a reload, even one that changes a limit, hands out no fresh quota.
  const limits = previous && isDeepStrictEqual(bucketsOf(previous.config), bucketsOf(config)) ? previous.limits : new Limits(config.limits, bucketsOf(config).targets, previous?.limits.logs, options.clock);
  return { config, policies, limits, everyone };
}

/** Who may sign in to the admin API: the default approvers, every group member, every approver a rule names. */
export function everyApprover(approvers: string[], groups: Map<string, string[]>, policies: PolicySet): Set<string> {
  return new Set([...approvers, ...[...groups.values()].flat(), ...policies.rules.flatMap((r) => r.approval?.approvers ?? [])]);
}

/**
 * With `callers:` configured, a caller is its name: a rule's match.callers naming anyone else (an
 * address, a typo) would never match. Without callers, callers are loopback addresses, matched as such.
 */
function checkCallerNames(config: ResolvedConfig, policies: PolicySet): void {
  const names = config.callers.names;
  if (!names.length) return;
  const problems: string[] = [];
  for (const rule of policies.rules) {
    for (const name of rule.callers ?? []) {
      if (names.includes(name)) continue;
      const guess = suggest(name, names);
      problems.push(`${rule.file}: rule ${rule.name}: match.callers: unknown caller "${name}"${guess ? `; did you mean "${guess}"?` : ''} (callers: ${names.join(', ')})`);
    }
  }
  if (problems.length) throw new PolicyError(problems);
}

function bucketsOf(config: ResolvedConfig) {
  return {
    limits: config.limits,
    targets: [
      ...[...config.robots.values()].map((r) => ({ kind: 'robot' as const, name: r.alias, limit: r.limit })),
      ...[...config.apps.values()].map((a) => ({ kind: 'app' as const, name: a.name, limit: a.limit })),
      ...[...config.bots.values()].map((b) => ({ kind: 'bot' as const, name: b.alias, limit: b.limit })),
    ],
  };
}

/** Settings the running process was built around: a reload that changes one is refused. */
export function restartOnlyChanges(running: ResolvedConfig, next: ResolvedConfig): string[] {
  const fixed: Array<[string, (c: ResolvedConfig) => unknown]> = [
    ['listen', (c) => c.listen],
    ['upstream', (c) => c.upstream.href],
    ['upstreamTimeout', (c) => c.upstreamTimeoutMs],
    ['botUpstream', (c) => c.botUpstream.href],
    ['dataDir', (c) => c.dataDir],
    // TLS files are read at start: a listener keeps the certificate it started with (compared by path,
    // so a renewed certificate does not block reloads; it is taken up at the next restart).
    ['admin', (c) => c.admin && { ...c.admin, jwks: c.admin.jwks && { ...c.admin.jwks, url: c.admin.jwks.url.href }, tls: tlsPaths(c.admin.tls) }],
    ['tls', (c) => tlsPaths(c.tls)],
    // The egress listener, its tunnel list and its CA are set up at start (the CA compared by path, as TLS files).
    ['egress', (c) => c.egress && { listen: c.egress.listen, tunnel: [...c.egress.tunnel].sort(), ca: c.egress.ca?.certFile }],
    ['server', (c) => c.server],
    ['audit', (c) => c.audit],
    ['dedupe', (c) => c.dedupe],
    ['heartbeat', (c) => c.heartbeat],
    ['reload', (c) => c.reload],
    ['resilience', (c) => c.resilience],
  ];
  // callers and trustedProxies are not here: they are plain data read per request, so a reload applies them.
  return fixed.filter(([, of]) => !isDeepStrictEqual(of(running), of(next))).map(([key]) => key);
}

const tlsPaths = (t: ResolvedConfig['tls']) => t && { cert: t.certFile, key: t.keyFile };
