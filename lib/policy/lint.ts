import { isIP } from 'node:net';
import { suggest } from '../yaml-source.js';
import { PolicyError, PolicySet } from './compile.js';
import type { CompiledRule } from './evaluate.js';
import { ROUTE_PATHS, routeOfPath } from './request-of.js';
import { BOT_ROUTES } from '../request/bot-route.js';
import type { HttpRoute, Route } from './types.js';

// `policy lint`: what a reviewer should know about a policy set beyond "it loads".
//
//   check             severity  what
//   format            error     anything the firewall itself would refuse at load (schema, YAML,
//                               duplicate names, invalid JSON Schema, approval settings, unknown
//                               approver groups with --config); the other checks then do not run
//   never-matches     error     a match no request can fit (robots with apps or bots, msgtypes on
//                               routes without one, paths outside the routes listed, ...)
//   never-applies     error     condition: false, or violates: true / {} (no payload fails it)
//   shadowed          error     an earlier enforced rule applies to every request this one could,
//                               so it is never reached (see `shadowingRule` for what is detected)
//   allow-everything  error     an enforced allow rule with no match and no condition: every later
//                               rule, contract and guardrails included, is skipped
//   approve-bot-upload
//                     error     an approve rule whose match fits only bot uploads (bot.upload_media):
//                               an upload on the bot WebSocket cannot be parked (the client waits
//                               seconds for each upload frame's answer); the message that later
//                               sends its media_id can
//                     warning   an approve rule whose match fits bot.upload_media among other routes
//   unknown-robot / unknown-app / unknown-bot / unknown-caller
//                     error     (--config) a name the config does not define: the rule never matches
//   broad-allow       warning   an enforced allow rule without condition, path or msgtype: it lets a
//                               whole robot, app, caller or route skip every later rule
//   weak-description / weak-reason
//                     warning   a placeholder (TODO, "-", the rule's name) or under 10 characters
//   monitor           info      a rule in mode monitor: not enforced
//
// Shadowing is decided on the match lists and on schemas as written, not by reasoning about what a
// schema accepts: an earlier rule shadows a later one when its match is the same or broader (each of
// its lists absent or a superset; routes and paths understood through the firewall's router) and it
// has no condition (or condition: true / {}, violates: false), or the very same condition/violates
// schema. Two different schemas where one implies the other (a subsumption proof) are not detected.

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  severity: Severity;
  check: string;
  rule?: string;
  /** "file:line" (or the file) the finding is about. */
  location: string;
  message: string;
}

export interface LintContext {
  /** Robot aliases of the config; undefined: not checked. */
  robots?: string[];
  apps?: string[];
  bots?: string[];
  /** Caller names of the config's `callers:`; 'loopback' when it has none (callers are then loopback addresses). */
  callers?: string[] | 'loopback';
  /** approvals.groups and approvals.approvers: `group:NAME` approvers are expanded and checked. */
  groups?: Map<string, string[]>;
  defaultApprovers?: string[];
}

export interface LintResult {
  files: string[];
  rules: number;
  findings: Finding[];
  /** Checks that did not run, and why. */
  skipped: string[];
}

const ROBOT_ROUTES = new Set<HttpRoute>(['webhook.send', 'webhook.upload_media']);
const APP_ROUTES = new Set<HttpRoute>(['app.message_send', 'app.appchat_send', 'app.media_upload', 'app.media_get', 'app.admin', 'app.other']);
const ROUTES: Route[] = [...ROBOT_ROUTES, ...APP_ROUTES, ...BOT_ROUTES];
/** Routes whose requests carry a msgtype (a message's msgtype, an upload's type; any bot frame's body.msgtype). */
const MSGTYPE_ROUTES = new Set<Route>(['webhook.send', 'webhook.upload_media', 'app.message_send', 'app.appchat_send', 'app.media_upload', ...BOT_ROUTES]);
/** Who sends on which routes: a rule naming robots, apps or bots fits only that kind's routes. */
const SENDERS: ReadonlyArray<readonly ['robots' | 'apps' | 'bots', ReadonlySet<Route>, string]> = [
  ['robots', ROBOT_ROUTES, 'webhook routes'],
  ['apps', APP_ROUTES, 'app routes'],
  ['bots', new Set(BOT_ROUTES), 'bot routes'],
];

export function lintPolicies(paths: string[], context: LintContext = {}): LintResult {
  let set: PolicySet;
  try {
    set = new PolicySet(paths, { groups: context.groups ?? 'unchecked', defaultApprovers: context.defaultApprovers });
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    const findings = err.problems.map((p): Finding => {
      const m = /^(.+?:\d+): (.*)$/s.exec(p);
      return { severity: 'error', check: 'format', location: m ? m[1]! : '', message: m ? m[2]! : p };
    });
    return { files: [], rules: 0, findings, skipped: ['every other check: the policy set does not load'] };
  }
  const findings: Finding[] = [];
  const add = (severity: Severity, check: string, rule: CompiledRule, message: string) => findings.push({ severity, check, rule: rule.name, location: rule.location, message });
  const skipped: string[] = [];
  if (!context.robots) skipped.push('unknown-robot, unknown-app, unknown-bot, unknown-caller: no --config given');
  if (!context.groups) skipped.push('approver groups (group:NAME) are not expanded or checked: no --config given');

  set.rules.forEach((rule, i) => {
    const routes = effectiveRoutes(rule);
    const never = neverMatches(rule, routes);
    const test = schemaKind(rule);
    if (never) add('error', 'never-matches', rule, `can never match: ${never}`);
    if (test === 'never') add('error', 'never-applies', rule, rule.when === 'valid' ? 'condition: false accepts no payload, so the rule never applies' : 'no payload fails this violates schema (true or {}), so the rule never applies');
    if (!never && test !== 'never') {
      const earlier = set.rules.slice(0, i).find((a) => shadows(a, rule, routes));
      if (earlier) {
        const where = earlier.file === rule.file ? `line ${earlier.location.slice(earlier.file.length + 1)}` : earlier.location;
        add('error', 'shadowed', rule, `can never apply: rule "${earlier.name}" (${where}) comes first, fits every request this rule's match fits, and ${schemaKind(earlier) === 'always' ? 'has no condition' : `has the same ${rule.when === 'valid' ? 'condition' : 'violates schema'}`}; move this rule above it, narrow "${earlier.name}", or delete one`);
      }
    }
    if (rule.action === 'approve' && routes.has('bot.upload_media') && !never && test !== 'never') {
      const why = "an upload on the bot WebSocket cannot be parked (the client waits seconds for each upload frame's answer); park the message that sends its media_id instead (bot.send_msg, bot.respond_msg)";
      if (routes.size === 1) add('error', 'approve-bot-upload', rule, `parks bot uploads (bot.upload_media) only: ${why}`);
      else add('warning', 'approve-bot-upload', rule, `its match also fits bot.upload_media: ${why}; list the routes it is for in match.routes`);
    }
    if (rule.action === 'allow' && rule.mode === 'enforce' && test === 'always' && !never) {
      const lists = (['robots', 'apps', 'bots', 'callers', 'routes', 'paths', 'msgtypes'] as const).filter((f) => rule[f]);
      const after = set.rules.slice(i + 1);
      const later = `the ${after.length} rule(s) after it${after.length ? ` (packs ${[...new Set(after.map((r) => r.pack))].join(', ')})` : ''}`;
      if (!lists.length) add('error', 'allow-everything', rule, `allows every request that reaches it: ${later} and the default are never checked`);
      else if (!rule.paths && !rule.msgtypes) {
        const scope = lists.map((f) => `${f} [${[...rule[f]!].join(', ')}]`).join(', ');
        add('warning', 'broad-allow', rule, `allows everything sent with ${scope}, with no condition: ${later} are skipped for all of it; add a condition, paths or msgtypes`);
      }
    }
    weakText(rule.description, rule, 'description', (m) => add('warning', 'weak-description', rule, m));
    weakText(rule.reason, rule, 'reason', (m) => add('warning', 'weak-reason', rule, m));
    if (rule.mode === 'monitor') add('info', 'monitor', rule, `mode: monitor: when it applies, "would ${rule.action}" is audited and counted, but not enforced`);
    if (context.robots) checkNames(rule, 'robots', context.robots, 'robot', 'robots:', (m) => add('error', 'unknown-robot', rule, m));
    if (context.apps) checkNames(rule, 'apps', context.apps, 'app', 'apps:', (m) => add('error', 'unknown-app', rule, m));
    if (context.bots) checkNames(rule, 'bots', context.bots, 'bot', 'bots:', (m) => add('error', 'unknown-bot', rule, m));
    if (context.callers) checkCallers(rule, context.callers, (m) => add('error', 'unknown-caller', rule, m));
  });
  return { files: set.files, rules: set.rules.length, findings, skipped };
}

/** The routes a request fitting this rule's match can have (paths are routed as the firewall routes them). */
function effectiveRoutes(rule: CompiledRule): Set<Route> {
  let routes = new Set<Route>(rule.routes ? ([...rule.routes] as Route[]) : ROUTES);
  const keep = (ok: (r: Route) => boolean) => (routes = new Set([...routes].filter(ok)));
  if (rule.paths) {
    const ofPaths = new Set([...rule.paths].map(routeOfPath));
    keep((r) => ofPaths.has(r));
  }
  for (const [field, own] of SENDERS) if (rule[field]) keep((r) => own.has(r));
  if (rule.msgtypes) keep((r) => MSGTYPE_ROUTES.has(r));
  return routes;
}

function neverMatches(rule: CompiledRule, routes: Set<Route>): string | undefined {
  const senders = SENDERS.filter(([field]) => rule[field]).map(([field]) => field);
  if (senders.length > 1) return `it lists ${senders.join(' and ')}, and a request has only one of a robot, an app or a bot`;
  if (routes.size) return undefined;
  const unserved = [...(rule.paths ?? [])].filter((p) => !routeOfPath(p));
  if (rule.paths && unserved.length === rule.paths.size) return `the firewall serves none of its paths (${unserved.join(', ')})`;
  const parts = [
    rule.routes && `routes [${[...rule.routes].join(', ')}]`,
    rule.paths && `paths [${[...rule.paths].map((p) => `${p} (${routeOfPath(p) ?? 'not served'})`).join(', ')}]`,
    ...SENDERS.map(([field, , kind]) => rule[field] && `${field} (${kind} only)`),
    rule.msgtypes && 'msgtypes (only messages and uploads have one)',
  ].filter(Boolean);
  return `no route fits all of ${parts.join(', ')}`;
}

/** always: applies whenever the match fits; never: applies to nothing; schema: depends on the payload. */
function schemaKind(rule: CompiledRule): 'always' | 'never' | 'schema' {
  if (rule.when === 'always') return 'always';
  const s = rule.schemaSource;
  const empty = s === true || (typeof s === 'object' && s !== null && !Array.isArray(s) && Object.keys(s).length === 0);
  if (rule.when === 'valid') return empty ? 'always' : s === false ? 'never' : 'schema';
  return s === false ? 'always' : empty ? 'never' : 'schema';
}

/** Does enforced rule `a` apply to every request that rule `b` could apply to? (Sound, not complete: see the header.) */
function shadows(a: CompiledRule, b: CompiledRule, bRoutes: Set<Route>): boolean {
  if (a.mode !== 'enforce') return false;
  const kind = schemaKind(a);
  if (kind === 'never') return false;
  if (kind === 'schema' && !(a.when === b.when && canonical(a.schemaSource) === canonical(b.schemaSource))) return false;
  for (const f of ['robots', 'apps', 'bots', 'callers', 'msgtypes'] as const) {
    if (a[f] && !(b[f] && subset(b[f]!, a[f]!))) return false;
  }
  if (a.routes && !subset(bRoutes, a.routes)) return false;
  if (a.paths) {
    const bPaths = b.paths ?? pathsOfRoutes(bRoutes);
    if (!bPaths || !subset(bPaths, a.paths)) return false;
  }
  return true;
}

/** The paths of these routes, when each has exactly one. */
function pathsOfRoutes(routes: Set<Route>): Set<string> | undefined {
  const paths = new Set<string>();
  for (const r of routes) {
    const p = ROUTE_PATHS[r];
    if (!p) return undefined;
    paths.add(p);
  }
  return paths;
}

const subset = <T>(a: Set<T>, b: Set<T>) => [...a].every((x) => b.has(x));

/** JSON with object keys sorted: two schemas written with keys in another order compare equal. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : value));
}

const PLACEHOLDER = /^(?:todo|tbd|fixme|xxx+|n\/?a|none|reason|description|-+|\.+|\?+)\b/i;

function weakText(text: string, rule: CompiledRule, what: string, warn: (message: string) => void): void {
  const t = text.trim();
  if (PLACEHOLDER.test(t) || t === rule.name) warn(`the ${what} "${t}" is a placeholder: say ${what === 'reason' ? 'what the agent should do instead (it is sent as the errmsg)' : 'what the rule is for, for reviewers'}`);
  else if (t.length < 10) warn(`the ${what} "${t}" is too short to tell ${what === 'reason' ? 'the agent what to do instead' : 'a reviewer what the rule is for'}`);
}

function checkNames(rule: CompiledRule, field: 'robots' | 'apps' | 'bots', known: string[], kind: string, section: string, error: (message: string) => void): void {
  for (const name of rule[field] ?? []) {
    if (known.includes(name)) continue;
    const guess = suggest(name, known);
    error(`match.${field}: unknown ${kind} "${name}" (not under ${section} in the config)${guess ? `; did you mean "${guess}"?` : ''}: the rule never matches it`);
  }
}

function checkCallers(rule: CompiledRule, callers: string[] | 'loopback', error: (message: string) => void): void {
  for (const name of rule.callers ?? []) {
    if (callers === 'loopback') {
      if (!isLoopback(name)) error(`match.callers: "${name}": the config has no callers:, so every caller is a loopback address (e.g. 127.0.0.1, ::1); this entry never matches`);
    } else if (!callers.includes(name)) {
      const guess = suggest(name, callers);
      error(`match.callers: unknown caller "${name}" (not under callers: in the config)${guess ? `; did you mean "${guess}"?` : ''}: the rule never matches it`);
    }
  }
}

function isLoopback(address: string): boolean {
  const v = isIP(address);
  if (v === 4) return address.startsWith('127.');
  if (v === 6) return address === '::1' || /^::ffff:127\./i.test(address);
  return false;
}
