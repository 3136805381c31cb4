import { parseArgs, type ParseArgsConfig } from 'node:util';

// What every subcommand shares: its arguments parsed strictly, and every mistake in them a UsageError,
// which main.ts answers with that subcommand's usage and exit 2 (1 stays for real failures).

export class UsageError extends Error {}

/** node:util parseArgs, strict, with its own errors ("Unknown option '--x'") turned into UsageErrors. */
export function parseCommand<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--help` or `-h` anywhere before a `--`: the subcommand's usage, whatever else is on the line. */
export function wantsHelp(args: string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** A TCP port given on the command line (0: any free port). */
export function portOption(value: string, name = '--port'): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65535) throw new UsageError(`${name} takes a port number (0-65535), not "${value}"`);
  return port;
}
