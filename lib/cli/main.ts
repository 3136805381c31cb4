#!/usr/bin/env node
import { USAGES, type CommandName } from './usage.js';
import { UsageError, wantsHelp } from './args.js';

// The wecom-firewall command. Exit codes, for every subcommand: 0 done, 1 a real failure (a refusal,
// a broken chain, findings), 2 a usage error (printed with that subcommand's usage). `--help`/`-h`
// prints the subcommand's usage and exits 0. Long-running commands resolve -1 and exit on a signal.
// A command's module is imported only to run it, so --help and usage errors answer at once.

const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);

const COMMANDS: Record<CommandName, (args: string[]) => Promise<number>> = {
  serve: async (args) => (await import('./serve.js')).serveCommand(args),
  simulator: async (args) => (await import('./serve.js')).simulatorCommand(args),
  demo: async (args) => (await import('./serve.js')).demoCommand(args),
  token: async (args) => (await import('./token.js')).tokenCommand(args, out, err),
  approvals: async (args) => (await import('./approvals.js')).approvalsCommand(args, out),
  audit: async (args) => (await import('./audit.js')).auditCommand(args, out, err),
  policy: async (args) => (await import('./policy.js')).policyCommand(args, out),
  ca: async (args) => (await import('./ca.js')).caCommand(args, out, err),
  proxy: async (args) => (await import('./proxy.js')).proxyCommand(args, out),
};
const isCommand = (name: string): name is CommandName => Object.hasOwn(USAGES, name);

const USAGE = `usage: wecom-firewall <command> [options]     (wecom-firewall <command> --help: that command alone)

commands:
${Object.values(USAGES).join('')}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return (out(USAGE), 0);
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) return (out(USAGE), 0);
    if (!isCommand(topic)) return usageError(`no command "${topic}"`, USAGE);
    return (out(`usage:\n${USAGES[topic]}`), 0);
  }
  if (!isCommand(name)) return usageError(`unknown command "${name}"`, USAGE);
  if (wantsHelp(rest)) return (out(`usage:\n${USAGES[name]}`), 0);
  try {
    return await COMMANDS[name](rest);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message, `usage:\n${USAGES[name]}\nwecom-firewall --help lists every command\n`);
    throw e;
  }
}

function usageError(problem: string, usage: string): number {
  err(`wecom-firewall: ${problem}\n\n${usage}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    err(`wecom-firewall: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
