import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDuration } from '../config/units.js';
import { SecretError, resolveSecret } from '../config/secrets.js';
import { everyApprover } from '../generation.js';
import { MAX_TOKEN_AGE, MAX_TOKEN_AGE_SECONDS, signApproverToken } from '../http/auth.js';
import { PolicyError, PolicySet } from '../policy/compile.js';
import { readYaml, suggest } from '../yaml-source.js';
import { UsageError, parseCommand } from './args.js';
import { configNames, configPaths } from './policy.js';

// `wecom-firewall token`: an approver's sign-in token for the console and `approvals --token`, signed
// with the config's admin.jwtSecret. The config is read for names only; the one secret resolved is
// admin.jwtSecret (the robots' keys and corpsecrets need not be readable by whoever runs this).
// Exit codes: 0 the token on stdout, 1 refused (not an approver, no jwtSecret, unreadable secret), 2 usage.

interface AdminSection { jwtSecret?: unknown; jwks?: { issuer?: unknown } }

export async function tokenCommand(args: string[], out: (s: string) => void, err: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseCommand({ args, options: { config: { type: 'string', short: 'c' }, sub: { type: 'string' }, ttl: { type: 'string', default: '8h' } } });
  if (!values.config) throw new UsageError('token needs --config FILE');
  if (!values.sub) throw new UsageError('token needs --sub NAME (the approver it is for)');
  const ttlSeconds = ttlOf(values.ttl);
  const file = values.config;
  if (!existsSync(file)) throw new UsageError(`no config file ${file}`);
  const refuse = (why: string) => (err(`wecom-firewall token: ${why}\n`), 1);

  const admin = ((readYaml(file).data ?? {}) as { admin?: AdminSection | null }).admin;
  if (!admin) return refuse(`${file} has no admin: section, so there is no admin API to sign in to`);
  if (admin.jwtSecret === undefined) {
    return admin.jwks
      ? refuse(`${file} takes approvers' tokens from an identity provider (admin.jwks, issuer ${String(admin.jwks.issuer)}): get one there; this command signs only with admin.jwtSecret`)
      : refuse(`${file} has neither admin.jwtSecret nor admin.jwks`);
  }

  const approver = isApprover(file, values.sub);
  if (approver !== true) return refuse(approver);

  let secret: string;
  try {
    secret = resolveSecret(String(admin.jwtSecret), env, dirname(resolve(file)));
  } catch (e) {
    if (e instanceof SecretError) return refuse(`${file}: admin.jwtSecret: ${e.message}`);
    throw e;
  }
  if (secret.length < 32) return refuse(`${file}: admin.jwtSecret: an HS256 secret needs at least 32 characters (the firewall refuses to start with this one)`);

  out(`${await signApproverToken(secret, values.sub, ttlSeconds)}\n`);
  err(`token for approver "${values.sub}", valid until ${new Date(Date.now() + ttlSeconds * 1000).toISOString()}\n`);
  return 0;
}

function ttlOf(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new UsageError(`--ttl: ${(e as Error).message}`);
  }
  if (ms < 1000 || ms > MAX_TOKEN_AGE_SECONDS * 1000) throw new UsageError(`--ttl must be between 1s and ${MAX_TOKEN_AGE}: the admin API refuses a token ${MAX_TOKEN_AGE} after it was issued`);
  return Math.floor(ms / 1000);
}

/**
 * true, or why not. The admin API refuses (403) a valid token whose sub is none of: approvals.approvers,
 * a member of approvals.groups, a rule's approval.approvers. The policies are compiled only when the
 * config's own lists do not name the sub.
 */
function isApprover(file: string, sub: string): true | string {
  const names = configNames(file);
  const groups = names.groups ?? new Map<string, string[]>();
  const listed = new Set([...(names.defaultApprovers ?? []), ...[...groups.values()].flat()]);
  if (listed.has(sub)) return true;
  let policies: PolicySet;
  try {
    policies = new PolicySet(configPaths(file).policies, { groups, defaultApprovers: names.defaultApprovers });
  } catch (e) {
    if (e instanceof PolicyError) return `the policies of ${file} do not load, so the approvers their rules name are unknown:\n  ${e.problems.join('\n  ')}`;
    throw e;
  }
  const everyone = everyApprover(names.defaultApprovers ?? [], groups, policies);
  if (everyone.has(sub)) return true;
  const guess = suggest(sub, everyone);
  return `"${sub}" is not an approver in ${file} (approvals.approvers, approvals.groups or a rule's approval.approvers): the admin API would refuse its token${guess ? `; did you mean "${guess}"?` : ''}`;
}
