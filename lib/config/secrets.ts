import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Secrets are written in the config as references, never inline: `${env:NAME}` or `${file:/path}`.
// They are resolved once at load; every resolved value is registered for redaction.
// A relative file path is relative to the config file's directory, like every other path in it. A
// path may begin with `$CREDENTIALS_DIRECTORY/`: where systemd's LoadCredential= puts a unit's secrets
// (the directory's name is systemd's to choose). No other variable is expanded in a path.

const CREDENTIALS = '$CREDENTIALS_DIRECTORY/';

const REFERENCE = /^\$\{(env|file):([^}]+)\}$/;

export class SecretError extends Error {}

export function isSecretReference(value: string): boolean {
  return REFERENCE.test(value);
}

export function resolveSecret(reference: string, env: NodeJS.ProcessEnv, baseDir = process.cwd()): string {
  const m = REFERENCE.exec(reference.trim());
  if (!m) throw new SecretError('must be a secret reference like ${env:NAME} or ${file:/path}, not the secret itself');
  const [, kind, name] = m as unknown as [string, 'env' | 'file', string];
  let value: string | undefined;
  if (kind === 'env') {
    value = env[name];
    if (value === undefined || value === '') throw new SecretError(`environment variable ${name} is not set`);
  } else {
    const file = resolve(baseDir, credentialPath(name, env));
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!value) throw new SecretError(`secret file ${file} is empty`);
  }
  return value;
}

function credentialPath(path: string, env: NodeJS.ProcessEnv): string {
  if (!path.startsWith(CREDENTIALS)) return path;
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) throw new SecretError(`${path} needs CREDENTIALS_DIRECTORY, which systemd sets for a unit with LoadCredential=; outside such a unit, set it to the directory holding the files`);
  return `${dir.replace(/\/+$/, '')}/${path.slice(CREDENTIALS.length)}`;
}

/** Compares a secret an agent presented with the configured one in constant time (for equal lengths). */
export function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Replaces every known secret in a string; used on everything that leaves the process as text. */
export class Redactor {
  private readonly secrets = new Set<string>();
  add(secret: string): void {
    if (secret.length >= 4) this.secrets.add(secret);
  }
  /** Takes on another redactor's secrets (a reload's), keeping its own. */
  merge(other: Redactor): void {
    for (const s of other.secrets) this.secrets.add(s);
  }
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out;
  }
}
