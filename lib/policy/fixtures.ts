import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readYaml } from '../yaml-source.js';
import { packageRoot } from '../paths.js';
import type { PolicySet } from './compile.js';
import { RequestSpecError, requestOf, type RequestSpec } from './request-of.js';
import type { Action, Decision, PolicyRequest } from './types.js';

// Policy fixtures: requests with the decision each must get, run by `policy test` (and by the specs
// of the shipped packs). A fixture file is YAML checked against lib/policy/fixtures.schema.json;
// the fixtures of a policy directory live in its fixtures/ subdirectory, which policyFiles() does
// not read (it does not descend into subdirectories).

export const FIXTURES_SCHEMA_PATH = join(packageRoot(), 'lib', 'policy', 'fixtures.schema.json');
export const FIXTURES_DIR = 'fixtures';

let checkFormat: ValidateFunction | undefined;
const formatCheck = () => (checkFormat ??= new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(JSON.parse(readFileSync(FIXTURES_SCHEMA_PATH, 'utf8')) as object));

export interface Expectation {
  action: Action;
  rule: string;
  errcode?: number;
  monitored?: string[];
}

export interface FixtureCase {
  file: string;
  /** "file:line" of the case. */
  location: string;
  name: string;
  request: PolicyRequest;
  expect: Expectation;
}

export interface FixtureFile {
  file: string;
  description?: string;
  cases: FixtureCase[];
}

interface FixtureDoc {
  description?: string;
  defaults?: Omit<RequestSpec, 'payload' | 'msgtype'>;
  cases: Array<Omit<RequestSpec, 'payload'> & { name: string; payload: unknown; expect: Expectation }>;
}

/** Fixture files of these paths: a directory means its *.yaml / *.yml files in name order. */
export function fixtureFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (existsSync(p) && statSync(p).isDirectory()) files.push(...readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f)));
    else files.push(p);
  }
  return files;
}

/** The fixtures that come with policy paths: the fixtures/ subdirectory of each directory among them. */
export function fixturesOf(policyPaths: string[]): string[] {
  const dirs = policyPaths.map((p) => join(p, FIXTURES_DIR)).filter((d) => existsSync(d) && statSync(d).isDirectory());
  return fixtureFiles(dirs);
}

/** Reads and checks fixture files. Problems (file:line: message) are returned, not thrown: a tool reports all of them. */
export function loadFixtures(files: string[]): { files: FixtureFile[]; problems: string[] } {
  const problems: string[] = [];
  const loaded: FixtureFile[] = [];
  for (const file of files) {
    let source;
    try {
      source = readYaml(file);
    } catch (err) {
      problems.push((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file}: no such fixture file` : (err as Error).message);
      continue;
    }
    const check = formatCheck();
    if (!check(source.data)) {
      for (const e of check.errors ?? []) problems.push(`${source.locate(e.instancePath)}: ${describe(e)}`);
      continue;
    }
    const doc = source.data as FixtureDoc;
    const names = new Set<string>();
    const cases: FixtureCase[] = [];
    doc.cases.forEach((c, i) => {
      const location = source.locate(`/cases/${i}`);
      if (names.has(c.name)) problems.push(`${location}: case "${c.name}": name already used in this file`);
      names.add(c.name);
      const d = doc.defaults ?? {};
      // A case naming a robot, an app or a bot replaces all three defaults; the same for route and path.
      const target = c.robot !== undefined || c.app !== undefined || c.bot !== undefined ? { robot: c.robot, app: c.app, bot: c.bot } : { robot: d.robot, app: d.app, bot: d.bot };
      const where = c.route !== undefined || c.path !== undefined ? { route: c.route, path: c.path } : { route: d.route, path: d.path };
      try {
        const request = requestOf({ ...target, ...where, caller: c.caller ?? d.caller, msgtype: c.msgtype, payload: c.payload });
        cases.push({ file, location, name: c.name, request, expect: c.expect });
      } catch (err) {
        if (!(err instanceof RequestSpecError)) throw err;
        problems.push(`${location}: case "${c.name}": ${err.message}`);
      }
    });
    loaded.push({ file, ...(doc.description !== undefined ? { description: doc.description } : {}), cases });
  }
  return { files: loaded, problems };
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}: unknown key`;
  if (e.keyword === 'not') return `${e.instancePath || '/'}: give one of robot, app or bot, not several`;
  return `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------------------------

/** What is compared: only the keys the expectation gives beyond action and rule. */
export interface Outcome {
  action: Action;
  rule: string;
  errcode?: number;
  monitored?: string[];
}

export interface CaseResult {
  case: FixtureCase;
  ok: boolean;
  expected: Outcome;
  got: Outcome;
  /** The decision's detail (first schema failure) and reason, to show why it went the way it did. */
  decision: Decision;
}

/** Decides one case through PolicySet.decide (what the firewall runs) and compares. */
export function checkCase(set: PolicySet, c: FixtureCase): CaseResult {
  const decision = set.decide(c.request);
  const monitored = (decision.monitored ?? []).map((m) => m.rule).sort();
  const expected: Outcome = { action: c.expect.action, rule: c.expect.rule };
  const got: Outcome = { action: decision.action, rule: decision.rule };
  if (c.expect.errcode !== undefined) {
    expected.errcode = c.expect.errcode;
    if (decision.errcode !== undefined) got.errcode = decision.errcode;
  }
  if (c.expect.monitored !== undefined) {
    expected.monitored = [...c.expect.monitored].sort();
    got.monitored = monitored;
  }
  return { case: c, ok: JSON.stringify(expected) === JSON.stringify(got), expected, got, decision };
}

export function runFixtures(set: PolicySet, files: FixtureFile[]): CaseResult[] {
  return files.flatMap((f) => f.cases.map((c) => checkCase(set, c)));
}

/** "reject by wecom.text (errcode 40058)". */
export function describeOutcome(o: Outcome): string {
  return `${o.action} by ${o.rule === 'default' ? 'the default' : o.rule}${o.errcode !== undefined ? ` (errcode ${o.errcode})` : ''}${o.monitored ? `, monitored [${o.monitored.join(', ')}]` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// coverage: does every rule have a case it decides, and a case it considers but lets through?
// ---------------------------------------------------------------------------------------------

export interface RuleCoverage {
  rule: string;
  location: string;
  /** Cases this rule decided (or, in monitor mode, applied to). */
  hits: number;
  /** Cases that reached this rule, fit its match, and were not decided by it (its condition let them through). */
  passes: number;
  /** false for a rule without condition/violates: every request its match fits is a hit, so no pass is possible. */
  conditional: boolean;
}

export function coverage(set: PolicySet, cases: FixtureCase[]): RuleCoverage[] {
  const byRule = new Map(set.rules.map((r) => [r.name, { rule: r.name, location: r.location, hits: 0, passes: 0, conditional: r.when !== 'always' }]));
  for (const c of cases) {
    for (const step of set.explain(c.request).steps) {
      if (!step.reached) break;
      const entry = byRule.get(step.rule)!;
      if (step.outcome === 'decided' || step.outcome === 'monitored') entry.hits++;
      else if (step.outcome === 'not-applicable') entry.passes++;
    }
  }
  return [...byRule.values()];
}
