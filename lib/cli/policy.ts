import { parseArgs } from 'node:util';
import { dirname, isAbsolute, resolve } from 'node:path';
import { readYaml } from '../yaml-source.js';
import { shippedPoliciesDir } from '../paths.js';
import { listSets, restoreSet } from '../policy/history.js';
import { UsageError } from './approvals.js';

// `wecom-firewall policy history|rollback`: the policy sets the firewall loaded cleanly, kept under
// <dataDir>/policy-history, and writing one back. The config file is read for dataDir and policies
// only, without resolving secrets (this user may not hold them).

export const POLICY_USAGE = `  policy history --config FILE     the last good policy sets, newest (in force) first
  policy rollback --config FILE [--to ID]
                             write a saved set back over the policy files (default: the one before
                             the newest); the running firewall reloads it on the file change or SIGHUP
`;

export function policyCommand(args: string[], out: (s: string) => void): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, to: { type: 'string' } } });
  const [verb] = positionals;
  if (verb !== 'history' && verb !== 'rollback') throw new UsageError('policy needs history or rollback');
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
