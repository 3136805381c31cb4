import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { readYaml } from '../yaml-source.js';
import { shippedPoliciesDir } from '../paths.js';
import { listSets, restoreSet } from '../policy/history.js';
import { PolicyError, PolicySet } from '../policy/compile.js';
import { lintPolicies, type Finding, type LintContext } from '../policy/lint.js';
import { coverage, describeOutcome, fixtureFiles, fixturesOf, loadFixtures, runFixtures, FIXTURES_DIR } from '../policy/fixtures.js';
import { formatExplanation } from '../policy/explain.js';
import { RequestSpecError, preflight, requestOf } from '../policy/request-of.js';
import { UsageError, parseCommand } from './args.js';

// `wecom-firewall policy ...`: tools for the people who write and review policies.
//   history, rollback   the policy sets the firewall loaded cleanly (<dataDir>/policy-history)
//   lint                findings about a policy set (lib/policy/lint.ts)
//   test                fixtures (requests and the decision each must get) run through the set
//   explain             one request, rule by rule
// A config file is read for names and paths only, never resolving secrets (this user may not hold
// them). Exit codes: 0 fine, 1 findings / failures / a set that does not load, 2 usage.

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  to: { type: 'string' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  fixtures: { type: 'string', multiple: true },
  coverage: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  robot: { type: 'string' },
  app: { type: 'string' },
  bot: { type: 'string' },
  route: { type: 'string' },
  path: { type: 'string' },
  caller: { type: 'string' },
  msgtype: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  return parseCommand({ args, allowPositionals: true, options: OPTIONS });
}

export function policyCommand(args: string[], out: (s: string) => void): number {
  const { values, positionals } = parse(args);
  const [verb, ...rest] = positionals;
  switch (verb) {
    case 'history':
    case 'rollback':
      return historyCommand(verb, values, out);
    case 'lint':
      return lintCommand(rest, values, out);
    case 'test':
      return testCommand(rest, values, out);
    case 'explain':
      return explainCommand(rest, values, out);
    default:
      throw new UsageError('policy needs history, rollback, lint, test or explain');
  }
}

function historyCommand(verb: 'history' | 'rollback', values: Values, out: (s: string) => void): number {
  if (!values.config) throw new UsageError(`policy ${verb} needs --config FILE`);
  const { dataDir, policies } = configPaths(values.config);
  const sets = listSets(dataDir);
  if (verb === 'history') {
    if (!sets.length) out(`no saved policy sets in ${dataDir}\n`);
    sets.forEach((s, i) => out(`${s.id}  ${s.savedAt}  ${s.files.length} files${i === 0 ? '  (newest: in force unless a reload failed since)' : ''}\n`));
    return 0;
  }
  const id = values.to ?? sets[1]?.id;
  if (!id) {
    out(`error: no earlier policy set to roll back to (${sets.length} saved)\n`);
    return 1;
  }
  try {
    const { written, setAside } = restoreSet(dataDir, id, policies);
    out(`restored policy set ${id}: ${written.length} file(s) written${setAside.length ? `, ${setAside.length} set aside (${setAside.join(', ')})` : ''}\n`);
    for (const f of written) out(`  wrote ${f}\n`);
    out('the running firewall reloads on the file change (reload.watch) or on SIGHUP\n');
    return 0;
  } catch (err) {
    out(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// lint
// ---------------------------------------------------------------------------------------------

function lintCommand(paths: string[], values: Values, out: (s: string) => void): number {
  const { policies, context } = selection(paths, values);
  const result = lintPolicies(policies, context);
  const count = (s: Finding['severity']) => result.findings.filter((f) => f.severity === s).length;
  const errors = count('error');
  const warnings = count('warning');
  const ok = errors === 0 && (!values.strict || warnings === 0);
  if (values.json) {
    out(`${JSON.stringify({ ok, policies, files: result.files, rules: result.rules, errors, warnings, findings: result.findings, skipped: result.skipped }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  for (const f of result.findings) out(`${f.location ? `${rel(f.location)}: ` : ''}${f.severity} [${f.check}]${f.rule ? ` rule "${f.rule}"` : ''}: ${f.message}\n`);
  for (const s of result.skipped) out(`note: not checked: ${s}\n`);
  out(`${result.rules} rules in ${result.files.length} file(s): ${errors} error(s), ${warnings} warning(s)${values.strict ? ' (--strict: warnings fail)' : ''}\n`);
  return ok ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// test
// ---------------------------------------------------------------------------------------------

function testCommand(paths: string[], values: Values, out: (s: string) => void): number {
  const { policies, context } = selection(paths, values);
  const files = values.fixtures ? fixtureFiles(values.fixtures.map((f) => resolve(f))) : fixturesOf(policies);
  const fail = (problems: string[], what: string) => {
    if (values.json) out(`${JSON.stringify({ ok: false, policies, error: what, problems }, null, 2)}\n`);
    else out(`${problems.map((p) => `error: ${rel(p)}\n`).join('')}${what}\n`);
    return 1;
  };
  if (!files.length) return fail([`no fixture files in ${policies.map((p) => rel(resolve(p, FIXTURES_DIR))).join(', ')}`], 'nothing tested: give fixture files with --fixtures, or put them in a fixtures/ directory beside the policies');
  const set = load(policies, context);
  if ('problems' in set) return fail(set.problems, 'the policy set does not load; nothing tested');
  const loaded = loadFixtures(files);
  const results = runFixtures(set, loaded.files);
  const failed = results.filter((r) => !r.ok);
  const ok = failed.length === 0 && loaded.problems.length === 0;
  const cov = values.coverage || values.json ? coverage(set, loaded.files.flatMap((f) => f.cases)) : undefined;
  if (values.json) {
    out(
      `${JSON.stringify(
        {
          ok,
          policies,
          fixtures: files,
          summary: { cases: results.length, passed: results.length - failed.length, failed: failed.length, problems: loaded.problems.length },
          problems: loaded.problems,
          cases: results.map((r) => ({ file: r.case.file, location: r.case.location, name: r.case.name, ok: r.ok, expected: r.expected, got: r.got, ...(r.ok ? {} : { reason: r.decision.reason, ...(r.decision.detail ? { detail: r.decision.detail } : {}) }) })),
          coverage: cov,
        },
        null,
        2,
      )}\n`,
    );
    return ok ? 0 : 1;
  }
  for (const p of loaded.problems) out(`error: ${rel(p)}\n`);
  for (const f of loaded.files) {
    const mine = results.filter((r) => r.case.file === f.file);
    const bad = mine.filter((r) => !r.ok);
    out(`${bad.length ? 'FAIL' : 'ok  '}  ${rel(f.file)}: ${mine.length} case(s)${bad.length ? `, ${bad.length} failed` : ''}\n`);
    for (const r of mine) {
      if (r.ok) {
        if (values.verbose) out(`        ok    ${r.case.name}: ${describeOutcome(r.got)}\n`);
        continue;
      }
      out(`        FAIL  ${rel(r.case.location)} "${r.case.name}"\n              expected ${describeOutcome(r.expected)}\n              got      ${describeOutcome(r.got)}${r.decision.detail ? ` (${r.decision.detail})` : ''}\n`);
    }
  }
  if (cov) {
    const undecided = cov.filter((c) => !c.hits);
    const unpassed = cov.filter((c) => c.conditional && !c.passes);
    out(`coverage: ${cov.length - undecided.length} of ${cov.length} rules decide some case; ${cov.filter((c) => c.conditional).length - unpassed.length} of ${cov.filter((c) => c.conditional).length} conditional rules let some case through\n`);
    for (const c of undecided) out(`  no case is decided by ${c.rule} (${rel(c.location)})\n`);
    for (const c of unpassed) out(`  no case reaches ${c.rule} and passes it (${rel(c.location)})\n`);
  }
  out(`${results.length} case(s) in ${loaded.files.length} file(s): ${results.length - failed.length} passed, ${failed.length} failed${loaded.problems.length ? `, ${loaded.problems.length} fixture problem(s)` : ''}\n`);
  return ok ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// explain
// ---------------------------------------------------------------------------------------------

function explainCommand(positionals: string[], values: Values, out: (s: string) => void): number {
  const [payloadFile, ...paths] = positionals;
  if (!payloadFile) throw new UsageError('policy explain needs a payload file (JSON; "-" for stdin)');
  if ([values.robot, values.app, values.bot].filter((v) => v !== undefined).length !== 1) throw new UsageError('policy explain needs --robot NAME, --app NAME or --bot NAME (one of them)');
  const payload = readPayload(payloadFile);
  let request;
  try {
    request = requestOf({ robot: values.robot, app: values.app, bot: values.bot, route: values.route, path: values.path, caller: values.caller, msgtype: values.msgtype, payload });
  } catch (err) {
    if (err instanceof RequestSpecError) throw new UsageError(err.message);
    throw err;
  }
  const { policies, context } = selection(paths, values);
  const set = load(policies, context);
  if ('problems' in set) {
    if (values.json) out(`${JSON.stringify({ ok: false, policies, problems: set.problems }, null, 2)}\n`);
    else out(`${set.problems.map((p) => `error: ${rel(p)}\n`).join('')}the policy set does not load\n`);
    return 1;
  }
  const explanation = set.explain(request, { allErrors: true });
  const refused = preflight(request);
  if (values.json) {
    out(`${JSON.stringify({ ok: true, policies, ...explanation, ...(refused ? { refusedBeforePolicies: refused } : {}) }, null, 2)}\n`);
    return 0;
  }
  out(`policies: ${policies.map(rel).join(', ')}\n`);
  if (refused) out(`note: the firewall refuses this request before any policy runs (${refused}); the rules below are what policies would say otherwise\n`);
  out(formatExplanation(explanation));
  return 0;
}

function readPayload(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read payload ${file}: ${(err as Error).message}`);
  }
  try {
    return /\.ya?ml$/.test(file) ? readYaml(file, text).data : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`payload ${file} is not ${/\.ya?ml$/.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// which policies, and what the config says about names
// ---------------------------------------------------------------------------------------------

/** Policy paths: the given ones, else the config's `policies:`, else the shipped packs; and the config's names. */
function selection(paths: string[], values: Values): { policies: string[]; context: LintContext } {
  if (!values.config) return { policies: paths.length ? paths.map((p) => resolve(p)) : [shippedPoliciesDir()], context: {} };
  if (!existsSync(values.config)) throw new UsageError(`no config file ${values.config}`);
  const names = configNames(values.config);
  return { policies: paths.length ? paths.map((p) => resolve(p)) : configPaths(values.config).policies, context: names };
}

function load(policies: string[], context: LintContext): PolicySet | { problems: string[] } {
  try {
    return new PolicySet(policies, { groups: context.groups ?? 'unchecked', defaultApprovers: context.defaultApprovers });
  } catch (err) {
    if (err instanceof PolicyError) return { problems: err.problems };
    throw err;
  }
}

/** dataDir and policy paths of a config file, resolved as the firewall resolves them. */
export function configPaths(configFile: string): { dataDir: string; policies: string[] } {
  const data = (readYaml(configFile).data ?? {}) as { dataDir?: unknown; policies?: unknown };
  const base = dirname(resolve(configFile));
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    dataDir: path(typeof data.dataDir === 'string' ? data.dataDir : './data'),
    policies: Array.isArray(data.policies) ? data.policies.filter((p): p is string => typeof p === 'string').map(path) : [shippedPoliciesDir()],
  };
}

/** Robot, app, bot and caller names and approver groups of a config file, read without resolving its secrets. */
export function configNames(configFile: string): LintContext {
  const data = (readYaml(configFile).data ?? {}) as { robots?: unknown; apps?: unknown; bots?: unknown; callers?: unknown; approvals?: { groups?: unknown; approvers?: unknown } };
  const keys = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : []);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const groups = data.approvals?.groups;
  return {
    robots: keys(data.robots),
    apps: keys(data.apps),
    bots: keys(data.bots),
    callers: keys(data.callers).length ? keys(data.callers) : 'loopback',
    groups: new Map(keys(groups).map((g) => [g, strings((groups as Record<string, unknown>)[g])])),
    defaultApprovers: strings(data.approvals?.approvers),
  };
}

/** A path (or "path:line: ..." text) under the working directory, shown relative to it. */
function rel(text: string): string {
  const prefix = `${process.cwd()}${sep}`;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
