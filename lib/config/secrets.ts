import { readFileSync } from 'node:fs';

// Secrets are written in the config as references, never inline: `${env:NAME}` or `${file:/path}`.
// They are resolved once at load; every resolved value is registered for redaction.

const REFERENCE = /^\$\{(env|file):([^}]+)\}$/;

export class SecretError extends Error {}

export function isSecretReference(value: string): boolean {
  return REFERENCE.test(value);
}

export function resolveSecret(reference: string, env: NodeJS.ProcessEnv): string {
  const m = REFERENCE.exec(reference.trim());
  if (!m) throw new SecretError('must be a secret reference like ${env:NAME} or ${file:/path}, not the secret itself');
  const [, kind, name] = m as unknown as [string, 'env' | 'file', string];
  let value: string | undefined;
  if (kind === 'env') {
    value = env[name];
    if (value === undefined || value === '') throw new SecretError(`environment variable ${name} is not set`);
  } else {
    try {
      value = readFileSync(name, 'utf8').trim();
    } catch (err) {
      throw new SecretError(`cannot read secret file ${name}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!value) throw new SecretError(`secret file ${name} is empty`);
  }
  return value;
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
