import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Action, ApprovalRequirement, Decision, MonitorHit, PolicyRequest, RuleMode } from './types.js';

// The decision core: how one compiled rule is evaluated against a request, and how the rules of a
// set fold into one decision. PolicySet.decide (the server) and PolicySet.explain (the CLI tools)
// both run `decideWith`, so what `policy explain` and `policy test` show is what the firewall does.

export interface CompiledRule {
  name: string;
  pack: string;
  file: string;
  /** "file:line" of the rule, for tools. */
  location: string;
  description: string;
  action: Action;
  /** monitor: when the rule applies, its decision is recorded as "would have" and evaluation goes on. */
  mode: RuleMode;
  errcode?: number;
  approval?: ApprovalRequirement;
  reason: string;
  robots?: Set<string>;
  apps?: Set<string>;
  bots?: Set<string>;
  routes?: Set<string>;
  msgtypes?: Set<string>;
  callers?: Set<string>;
  paths?: Set<string>;
  /** Applies when the payload is valid (condition) or invalid (violates) against this schema. */
  schema?: ValidateFunction;
  /** The schema as written (for lint and for explain's full error list). */
  schemaSource?: object | boolean;
  when: 'always' | 'valid' | 'invalid';
}

/** The match lists, in the order they are checked. */
export const MATCH_FIELDS = ['paths', 'routes', 'robots', 'apps', 'bots', 'callers', 'msgtypes'] as const;
export type MatchField = (typeof MATCH_FIELDS)[number];

/** The first match list that does not contain the request's value, or undefined when the match fits. */
export function mismatch(rule: CompiledRule, req: PolicyRequest): MatchField | undefined {
  if (rule.paths && !rule.paths.has(req.path)) return 'paths';
  if (rule.routes && !rule.routes.has(req.route)) return 'routes';
  if (rule.robots && (req.robot === undefined || !rule.robots.has(req.robot))) return 'robots';
  if (rule.apps && (req.app === undefined || !rule.apps.has(req.app))) return 'apps';
  if (rule.bots && (req.bot === undefined || !rule.bots.has(req.bot))) return 'bots';
  if (rule.callers && !rule.callers.has(req.caller)) return 'callers';
  if (rule.msgtypes && (req.msgtype === undefined || !rule.msgtypes.has(req.msgtype))) return 'msgtypes';
  return undefined;
}

export function matches(rule: CompiledRule, req: PolicyRequest): boolean {
  return mismatch(rule, req) === undefined;
}

export interface Outcome {
  /** The rule decides (or, in monitor mode, would decide). */
  applies: boolean;
  /** Its match fits the request. */
  matched: boolean;
  /** When the match does not fit: the first list that rules the request out. */
  mismatch?: MatchField;
  /** When the rule has a schema: whether the payload is valid against it. */
  valid?: boolean;
  /** The first schema failure, "<pointer> <message>". */
  detail?: string;
}

export function evaluate(rule: CompiledRule, req: PolicyRequest): Outcome {
  const field = mismatch(rule, req);
  if (field) return { applies: false, matched: false, mismatch: field };
  if (!rule.schema) return { applies: true, matched: true };
  const valid = rule.schema(req.payload) as boolean;
  return { applies: rule.when === 'valid' ? valid : !valid, matched: true, valid, detail: valid ? undefined : schemaFailure(rule.schema.errors) };
}

/**
 * First enforced rule that applies wins; otherwise `fallback` (the explicit default). Monitor-mode
 * rules that apply on the way are collected in `monitored`. `onStep` sees every rule evaluated, in
 * order, right after its evaluation (so `rule.schema.errors` is still that evaluation's).
 */
export function decideWith(rules: readonly CompiledRule[], fallback: Decision, req: PolicyRequest, onStep?: (index: number, outcome: Outcome) => void): Decision {
  let monitored: MonitorHit[] | undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const outcome = evaluate(rule, req);
    onStep?.(i, outcome);
    if (!outcome.applies) continue;
    if (rule.mode === 'monitor') {
      (monitored ??= []).push({ rule: rule.name, pack: rule.pack, would: rule.action, ...(rule.when === 'invalid' && outcome.detail ? { detail: outcome.detail } : {}) });
      continue;
    }
    const decision = decisionOf(rule, outcome.detail);
    return monitored ? { ...decision, monitored } : decision;
  }
  return monitored ? { ...fallback, monitored } : fallback;
}

export function decisionOf(rule: CompiledRule, detail?: string): Decision {
  return {
    action: rule.action,
    rule: rule.name,
    pack: rule.pack,
    reason: rule.reason,
    errcode: rule.errcode,
    detail: rule.when === 'invalid' ? detail : undefined,
    approval: rule.approval,
  };
}

export function schemaFailure(errors: ErrorObject[] | null | undefined): string | undefined {
  const e = errors?.[0];
  return e ? describeSchemaError(e) : undefined;
}

/** "<pointer> <message>", e.g. "/text/content must NOT have more than 2048 UTF-8 bytes". */
export function describeSchemaError(e: ErrorObject): string {
  const params = e.keyword === 'required' ? ` (${(e.params as { missingProperty: string }).missingProperty})` : '';
  return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${params}`;
}
