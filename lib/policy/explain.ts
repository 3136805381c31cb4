import type { ErrorObject } from 'ajv';
import { decideWith, describeSchemaError, evaluate, type CompiledRule, type MatchField, type Outcome } from './evaluate.js';
import type { Action, Decision, PolicyRequest, RuleMode } from './types.js';

// `policy explain`: how a request was decided, rule by rule. The steps are recorded while the very
// fold the firewall runs (decideWith) evaluates the rules, so the explanation cannot drift from
// the decision.

export interface SchemaFailure {
  /** JSON pointer into the payload ("" is the payload itself). */
  pointer: string;
  message: string;
  keyword: string;
  /** Where in the rule's schema ("#/properties/text/..."). */
  schemaPath: string;
}

export type StepOutcome = 'no-match' | 'not-applicable' | 'decided' | 'monitored';

export interface ExplainStep {
  /** 1-based position in the policy set. */
  position: number;
  rule: string;
  pack: string;
  location: string;
  action: Action;
  mode: RuleMode;
  errcode?: number;
  /** false for rules after the decision: evaluated only to show whether they would also apply. */
  reached: boolean;
  match: { fits: boolean; field?: MatchField; why?: string };
  /** The rule's schema test, when its match fits and it has one. */
  test?: { kind: 'condition' | 'violates'; valid: boolean; failures: SchemaFailure[] };
  applies: boolean;
  outcome: StepOutcome;
}

export interface Explanation {
  request: { route: string; path: string; robot?: string; app?: string; bot?: string; caller: string; msgtype?: string };
  steps: ExplainStep[];
  decision: Decision;
}

export function explainRules(rules: readonly CompiledRule[], fallback: Decision, req: PolicyRequest, allErrors?: (rule: CompiledRule) => ErrorObject[]): Explanation {
  const steps: ExplainStep[] = [];
  const record = (i: number, outcome: Outcome, reached: boolean) => {
    const rule = rules[i]!;
    // Read right after this rule's evaluation: ajv keeps only the last call's errors.
    const first = outcome.valid === false ? [...(rule.schema?.errors ?? [])] : [];
    steps.push(stepOf(i, rule, req, outcome, reached, outcome.valid === false && allErrors ? allErrors(rule) : first));
  };
  const decision = decideWith(rules, fallback, req, (i, outcome) => record(i, outcome, true));
  for (let i = steps.length; i < rules.length; i++) record(i, evaluate(rules[i]!, req), false);
  const { route, path, robot, app, bot, caller, msgtype } = req;
  return { request: { route, path, ...(robot !== undefined ? { robot } : {}), ...(app !== undefined ? { app } : {}), ...(bot !== undefined ? { bot } : {}), caller, ...(msgtype !== undefined ? { msgtype } : {}) }, steps, decision };
}

function stepOf(i: number, rule: CompiledRule, req: PolicyRequest, outcome: Outcome, reached: boolean, errors: ErrorObject[]): ExplainStep {
  const step: ExplainStep = {
    position: i + 1,
    rule: rule.name,
    pack: rule.pack,
    location: rule.location,
    action: rule.action,
    mode: rule.mode,
    ...(rule.errcode !== undefined ? { errcode: rule.errcode } : {}),
    reached,
    match: outcome.mismatch ? { fits: false, field: outcome.mismatch, why: whyNot(rule, req, outcome.mismatch) } : { fits: true },
    applies: outcome.applies,
    outcome: !outcome.matched ? 'no-match' : !outcome.applies ? 'not-applicable' : rule.mode === 'monitor' ? 'monitored' : 'decided',
  };
  if (outcome.matched && rule.when !== 'always') {
    step.test = {
      kind: rule.when === 'valid' ? 'condition' : 'violates',
      valid: outcome.valid === true,
      failures: errors.map((e) => ({ pointer: e.instancePath, message: describeSchemaError(e).slice((e.instancePath || '/').length + 1), keyword: e.keyword, schemaPath: e.schemaPath })),
    };
  }
  return step;
}

const REQUEST_VALUE: Record<MatchField, (req: PolicyRequest) => string | undefined> = {
  paths: (r) => r.path,
  routes: (r) => r.route,
  robots: (r) => r.robot,
  apps: (r) => r.app,
  bots: (r) => r.bot,
  callers: (r) => r.caller,
  msgtypes: (r) => r.msgtype,
};
const SINGULAR: Record<MatchField, string> = { paths: 'path', routes: 'route', robots: 'robot', apps: 'app', bots: 'bot', callers: 'caller', msgtypes: 'msgtype' };

/** What kind of route a request without a robot, an app or a bot is: e.g. "the request has no robot (an app route)". */
const senderKind = (req: PolicyRequest) => (req.robot !== undefined ? 'a robot route' : req.app !== undefined ? 'an app route' : req.bot !== undefined ? 'a bot route' : 'no sender');

function whyNot(rule: CompiledRule, req: PolicyRequest, field: MatchField): string {
  const value = REQUEST_VALUE[field](req);
  const list = [...(rule[field] ?? [])].join(', ');
  const sender = field === 'robots' || field === 'apps' || field === 'bots' ? ` (${senderKind(req)})` : '';
  if (value === undefined) return `${field}: the request has no ${SINGULAR[field]}${sender}; the rule needs one of [${list}]`;
  return `${field}: ${SINGULAR[field]} "${value}" is not in [${list}]`;
}

// ---------------------------------------------------------------------------------------------
// human-readable rendering
// ---------------------------------------------------------------------------------------------

const LABEL: Record<StepOutcome, string> = { 'no-match': 'skip', 'not-applicable': 'pass', decided: 'HIT', monitored: 'WOULD' };

export function formatExplanation(x: Explanation): string {
  const r = x.request;
  const sender = r.robot !== undefined ? `robot=${r.robot}` : r.bot !== undefined ? `bot=${r.bot}` : `app=${r.app ?? '?'}`;
  const lines = [`request: ${r.route} ${r.path} ${sender} caller=${r.caller}${r.msgtype !== undefined ? ` msgtype=${r.msgtype}` : ''}`, ''];
  const reached = x.steps.filter((s) => s.reached);
  const width = Math.max(4, ...x.steps.map((s) => s.rule.length));
  lines.push(`rules considered (${reached.length} of ${x.steps.length}, in order; first enforced rule that applies decides):`);
  for (const s of reached) lines.push(`  ${LABEL[s.outcome].padEnd(5)} ${String(s.position).padStart(3)}  ${s.rule.padEnd(width)}  ${stepText(s)}`);
  lines.push('');
  const d = x.decision;
  lines.push(`decision: ${d.action}${d.errcode !== undefined ? ` (errcode ${d.errcode})` : ''} by ${d.rule === 'default' ? `the default (pack ${d.pack})` : `rule ${d.rule} (pack ${d.pack})`}`);
  lines.push(`  reason: ${d.reason}`);
  if (d.detail) lines.push(`  detail: ${d.detail}`);
  for (const m of d.monitored ?? []) lines.push(`  monitor: rule ${m.rule} would have decided ${m.would} (mode: monitor, not enforced)`);
  const later = x.steps.filter((s) => !s.reached);
  if (later.length) {
    const alsoApply = later.filter((s) => s.applies);
    lines.push('', `not reached: ${later.length} later rule(s); of those, ${alsoApply.length ? `these would also apply: ${alsoApply.map((s) => `${s.rule} (${s.mode === 'monitor' ? 'monitor, ' : ''}${s.action})`).join(', ')}` : 'none would apply'}`);
  }
  return `${lines.join('\n')}\n`;
}

function stepText(s: ExplainStep): string {
  const monitor = s.mode === 'monitor' ? ' [monitor]' : '';
  if (!s.match.fits) return `match does not fit: ${s.match.why}${monitor}`;
  const verdict = s.outcome === 'decided' ? ` → ${s.action}${s.errcode !== undefined ? ` ${s.errcode}` : ''}` : s.outcome === 'monitored' ? ` → would ${s.action} (not enforced)` : '';
  if (!s.test) return `match fits, no condition: applies${verdict}${monitor}`;
  const shown = s.test.failures.slice(0, 3).map((f) => `${f.pointer || '/'} ${f.message}`);
  const failures = `${shown.join('; ')}${s.test.failures.length > 3 ? `; and ${s.test.failures.length - 3} more (--json lists all)` : ''}`;
  if (s.test.kind === 'condition') return s.test.valid ? `condition holds: applies${verdict}${monitor}` : `condition does not hold (${failures || 'invalid'})${monitor}`;
  return s.test.valid ? `payload is valid against "violates": does not apply${monitor}` : `violates: ${failures || 'invalid'}${verdict}${monitor}`;
}
