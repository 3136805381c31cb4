import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { addKeywords } from './keywords.js';
import { readYaml, suggest } from '../yaml-source.js';
import type { Action, ApprovalRequirement, Decision, PolicyRequest, RuleMode } from './types.js';
import { decideWith, type CompiledRule } from './evaluate.js';
import { explainRules, type Explanation } from './explain.js';
import { parseDuration } from '../config/units.js';
import { packageRoot } from '../paths.js';

// The format schema is published as lib/policy/policy.schema.json (editors and reviewers use it);
// read from there so dist/ never holds a second, stale copy.
export const POLICY_SCHEMA_PATH = join(packageRoot(), 'lib', 'policy', 'policy.schema.json');
const policyFormat = JSON.parse(readFileSync(POLICY_SCHEMA_PATH, 'utf8')) as object;

// Policy files are read, checked against the policy format and compiled once; a request is then
// matched by set lookups and compiled ajv functions only.

interface RuleFile {
  pack?: string;
  rules?: RuleSpec[];
  default?: { action: Action; errcode?: number; reason: string };
}
interface RuleSpec {
  name: string;
  description: string;
  match?: { robots?: string[]; apps?: string[]; bots?: string[]; routes?: string[]; msgtypes?: string[]; callers?: string[]; paths?: string[] };
  condition?: object | boolean;
  violates?: object | boolean;
  action: Action;
  mode?: RuleMode;
  errcode?: number;
  approval?: { approvers?: string[]; required?: number; ttl?: string; mode?: 'park' | 'hold'; holdFor?: string };
  reason: string;
}

export type { CompiledRule } from './evaluate.js';
export { evaluate, matches } from './evaluate.js';

export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid policy set:\n  ${problems.join('\n  ')}`);
    this.name = 'PolicyError';
  }
}

const formatAjv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
const checkFormat = formatAjv.compile(policyFormat);

export interface PolicySetOptions {
  /**
   * approvals.groups of the config, to expand `group:NAME` approvers (an unknown group is an error).
   * 'unchecked' (tools run without a config): `group:NAME` approvers are kept as written.
   */
  groups?: Map<string, string[]> | 'unchecked';
  /** approvals.approvers: who decides for a rule that names no approvers (counted against `required`). */
  defaultApprovers?: string[];
  /** Robot aliases, app names and bot aliases of the config: a rule naming any other is a typo that would never match. */
  robots?: Iterable<string>;
  apps?: Iterable<string>;
  bots?: Iterable<string>;
}

/** Policy files of these paths (a directory means its *.yaml / *.yml files in name order). */
export function policyFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new PolicyError([`${p}: no such policy file or directory`]);
    }
    if (st.isDirectory()) {
      files.push(...readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)));
    } else files.push(p);
  }
  if (!files.length) throw new PolicyError([`no policy files in ${paths.join(', ')}`]);
  return files;
}

export class PolicySet {
  readonly rules: CompiledRule[];
  readonly defaultDecision: Decision;
  readonly files: string[];
  /** The exact text of each file as it was compiled (kept as a known-good set for rollback). */
  readonly sources: Array<{ file: string; text: string }> = [];

  constructor(paths: string[], options: PolicySetOptions = {}) {
    const problems: string[] = [];
    const rules: CompiledRule[] = [];
    const names = new Map<string, string>();
    const known = {
      robots: options.robots ? new Set(options.robots) : undefined,
      apps: options.apps ? new Set(options.apps) : undefined,
      bots: options.bots ? new Set(options.bots) : undefined,
    };
    let defaultDecision: Decision | undefined;
    let defaultFile = '';
    // A fresh ajv per set, so a reload does not keep the old set's compiled schemas alive.
    const ajv = addKeywords(new Ajv({ allErrors: false, strict: true, strictTypes: false, strictTuples: false, allowUnionTypes: true }));
    this.files = policyFiles(paths);

    for (const file of this.files) {
      let source;
      try {
        const text = readFileSync(file, 'utf8');
        this.sources.push({ file, text });
        source = readYaml(file, text);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      if (!checkFormat(source.data)) {
        for (const e of checkFormat.errors ?? []) problems.push(`${source.locate(e.instancePath)}: ${describeFormatError(e)}`);
        continue;
      }
      const doc = source.data as RuleFile;
      const pack = doc.pack ?? basename(file).replace(/\.ya?ml$/, '');
      (doc.rules ?? []).forEach((spec, i) => {
        const at = (suffix = '') => `${source.locate(`/rules/${i}${suffix}`)}: rule "${spec.name}" (/rules/${i}${suffix})`;
        if (names.has(spec.name)) problems.push(`${at('/name')}: name already used in ${names.get(spec.name)}`);
        names.set(spec.name, file);
        for (const [field, kind] of [['robots', 'robot'], ['apps', 'app'], ['bots', 'bot']] as const) {
          const declared = known[field];
          for (const name of spec.match?.[field] ?? []) {
            if (!declared || declared.has(name)) continue;
            const guess = suggest(name, declared);
            problems.push(`${at(`/match/${field}`)}: unknown ${kind} "${name}"${guess ? `; did you mean "${guess}"?` : ''}`);
          }
        }
        if (spec.approval && spec.action !== 'approve') problems.push(`${at('/approval')}: approval is only for action: approve`);
        const approval = spec.approval && compileApproval(spec.approval, options, (msg) => problems.push(`${at('/approval')}: ${msg}`));
        if (spec.action !== 'reject' && spec.errcode !== undefined) problems.push(`${at('/errcode')}: errcode is only for action: reject`);
        const schemaSpec = spec.condition ?? spec.violates;
        let schema: ValidateFunction | undefined;
        if (schemaSpec !== undefined) {
          try {
            schema = ajv.compile(schemaSpec);
          } catch (err) {
            problems.push(`${at(spec.condition !== undefined ? '/condition' : '/violates')}: invalid JSON Schema: ${(err as Error).message}`);
          }
        }
        const set = (v?: string[]) => (v ? new Set(v) : undefined);
        rules.push({
          name: spec.name,
          pack,
          file,
          location: source.locate(`/rules/${i}`),
          description: spec.description,
          action: spec.action,
          mode: spec.mode ?? 'enforce',
          errcode: spec.action === 'reject' ? (spec.errcode ?? 9900001) : undefined,
          approval,
          reason: spec.reason,
          robots: set(spec.match?.robots),
          apps: set(spec.match?.apps),
          bots: set(spec.match?.bots),
          routes: set(spec.match?.routes),
          msgtypes: set(spec.match?.msgtypes),
          callers: set(spec.match?.callers),
          paths: set(spec.match?.paths),
          schema,
          schemaSource: schemaSpec,
          when: spec.condition !== undefined ? 'valid' : spec.violates !== undefined ? 'invalid' : 'always',
        });
      });
      if (doc.default) {
        if (defaultDecision) problems.push(`${source.locate('/default')}: a second default (the first is in ${defaultFile}); keep exactly one`);
        defaultFile = file;
        defaultDecision = {
          action: doc.default.action,
          rule: 'default',
          pack,
          reason: doc.default.reason,
          errcode: doc.default.action === 'reject' ? (doc.default.errcode ?? 9900001) : undefined,
        };
      }
    }
    if (!defaultDecision && !problems.length) problems.push(`${this.files.join(', ')}: no default decision; add "default: {action: allow|reject|approve, reason: ...}" to one file`);
    if (problems.length || !defaultDecision) throw new PolicyError(problems);
    this.rules = rules;
    this.defaultDecision = defaultDecision;
  }

  /**
   * First enforced rule that applies wins; otherwise the explicit default. Rules in `mode: monitor`
   * that apply on the way are listed in `monitored` (not enforced).
   */
  decide(req: PolicyRequest): Decision {
    return decideWith(this.rules, this.defaultDecision, req);
  }

  /**
   * The same evaluation as decide, step by step: every rule considered, whether its match fits and
   * why not, its schema failures (JSON pointers), and the decision; rules after the deciding one
   * are evaluated too and marked not reached. With allErrors, every schema failure is listed (from
   * a second, lazily compiled copy of the schema), not only the first one the agent is told.
   */
  explain(req: PolicyRequest, options: { allErrors?: boolean } = {}): Explanation {
    return explainRules(this.rules, this.defaultDecision, req, options.allErrors ? (rule) => this.allErrorsOf(rule, req.payload) : undefined);
  }

  private diagnostics?: { ajv: Ajv; compiled: Map<CompiledRule, ValidateFunction> };

  private allErrorsOf(rule: CompiledRule, payload: unknown): ErrorObject[] {
    if (rule.schemaSource === undefined) return [];
    this.diagnostics ??= { ajv: addKeywords(new Ajv({ allErrors: true, strict: true, strictTypes: false, strictTuples: false, allowUnionTypes: true })), compiled: new Map() };
    let validate = this.diagnostics.compiled.get(rule);
    if (!validate) this.diagnostics.compiled.set(rule, (validate = this.diagnostics.ajv.compile(rule.schemaSource)));
    return validate(payload) ? [] : [...(validate.errors ?? [])];
  }
}

/** A held request keeps an agent's connection open; past this, park instead. */
const MAX_HOLD_MS = 10 * 60_000;

function compileApproval(spec: NonNullable<RuleSpec['approval']>, options: PolicySetOptions, problem: (msg: string) => void): ApprovalRequirement {
  const { groups } = options;
  let approvers = spec.approvers ? undefined : options.defaultApprovers;
  if (spec.approvers) {
    approvers = [];
    for (const name of spec.approvers) {
      if (!name.startsWith('group:')) approvers.push(name);
      else {
        const members = groups === 'unchecked' ? [name] : groups?.get(name.slice(6));
        if (members) approvers.push(...members);
        else problem(`unknown approver group "${name.slice(6)}"${groups instanceof Map ? ` (approvals.groups has: ${[...groups.keys()].join(', ') || 'none'})` : ''}`);
      }
    }
    approvers = [...new Set(approvers)];
  }
  const required = spec.required ?? 1;
  const unexpanded = groups === 'unchecked' && approvers?.some((a) => a.startsWith('group:'));
  if (approvers && !unexpanded && required > approvers.length) problem(`required: ${required} but only ${approvers.length} approvers can decide`);
  const ttlMs = spec.ttl === undefined ? undefined : parseDuration(spec.ttl);
  const holdMs = parseDuration(spec.holdFor ?? '60s');
  if (holdMs > MAX_HOLD_MS) problem(`holdFor ${spec.holdFor} is over the 10m bound: use mode park for longer waits`);
  if (spec.holdFor !== undefined && spec.mode !== 'hold') problem('holdFor is only for mode: hold');
  return { approvers, required, ttlMs, mode: spec.mode ?? 'park', holdMs };
}

function describeFormatError(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
    const guess = suggest(key, known);
    return `${e.instancePath}/${key}: unknown key "${key}"${guess ? `; did you mean "${guess}"?` : ''}`;
  }
  return `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`;
}
