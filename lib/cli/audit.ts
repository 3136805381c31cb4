import { dirname, isAbsolute, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyAuditDir, type Anchor, type VerifyResult } from '../audit/verify.js';
import { readYaml } from '../yaml-source.js';
import { UsageError, parseCommand } from './args.js';

// `wecom-firewall audit verify`: checks the audit log's hash chain, read-only. Exit 0 when intact,
// 1 naming the first bad record (file:line and a stable code), 2 on a usage error.

export async function auditCommand(args: string[], out: (s: string) => void, err: (s: string) => void = out): Promise<number> {
  const { values, positionals } = parseCommand({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, dir: { type: 'string' }, anchor: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (positionals[0] !== 'verify' || positionals.length > 1) throw new UsageError('audit needs verify');
  if (values.config && values.dir) throw new UsageError('audit verify takes --config FILE or --dir DIR, not both');
  const dir = values.dir ? resolve(values.dir) : auditDirOf(values.config);
  const anchor = values.anchor === undefined ? undefined : parseAnchor(values.anchor);

  let result = attempt(dir, anchor);
  // A running firewall may be mid-write (a line half on disk) or may have pruned a file we were
  // about to read: look again before calling that broken. (Rotation while reading is handled by the
  // verifier itself.)
  for (let i = 0; i < 3 && (!result || result.problem?.code === 'UNTERMINATED'); i++) {
    await sleep(200);
    result = attempt(dir, anchor);
  }
  result ??= verifyAuditDir(dir, { anchor }); // let a persistent error surface

  if (values.json) {
    out(`${JSON.stringify({ dir, ...result })}\n`);
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
    const { first, last } = result;
    out(`audit chain intact: ${dir}: ${result.files.length} file(s), ${result.records} record(s), seq ${first!.seq}..${last!.seq}, ${first!.when ?? '?'} to ${last!.when ?? '?'}, anchor ${last!.seq}:${last!.hash}\n`);
    for (const n of result.notes) out(`note: ${n.file}:${n.line}: ${n.note}\n`);
    return 0;
  }
  const p = result.problem!;
  err(`audit chain BROKEN: ${p.file}:${p.line}: [${p.code}] ${p.reason}\n`);
  if (result.records) err(`  (${result.records} record(s) before it were intact, up to seq ${result.last!.seq} at ${result.last!.file}:${result.last!.line})\n`);
  for (const n of result.notes) err(`note: ${n.file}:${n.line}: ${n.note}\n`);
  return 1;
}

/** `SEQ:HASH`, as a previous verify printed them: the chain must still hold that record. */
function parseAnchor(value: string): Anchor {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(value.trim());
  if (!m) throw new UsageError(`--anchor takes SEQ:HASH (a record's seq and 64-hex hash), not "${value}"`);
  return { seq: Number(m[1]), hash: m[2]! };
}

function attempt(dir: string, anchor: Anchor | undefined): VerifyResult | undefined {
  try {
    return verifyAuditDir(dir, { anchor });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The audit directory from the config file (audit.dir, else <dataDir>/audit, both relative to the
 * file's directory as the firewall resolves them), read without resolving its secrets: the person
 * verifying need not hold them.
 */
function auditDirOf(configFile: string | undefined): string {
  if (!configFile) throw new UsageError('audit verify needs --config FILE or --dir DIR');
  const data = (readYaml(configFile).data ?? {}) as { dataDir?: unknown; audit?: { dir?: unknown } | null };
  const base = dirname(resolve(configFile));
  const path = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  if (typeof data.audit?.dir === 'string') return path(data.audit.dir);
  return resolve(path(typeof data.dataDir === 'string' ? data.dataDir : './data'), 'audit');
}
