#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { serve } from '../http/server.js';
import { createLogger } from '../log.js';
import { runDemo } from './demo.js';
import { APPROVALS_USAGE, UsageError, approvalsCommand } from './approvals.js';
import { AUDIT_USAGE, auditCommand } from './audit.js';
import { POLICY_USAGE, policyCommand } from './policy.js';
import { CA_USAGE, caCommand } from './ca.js';
import { startSimulator } from '../simulator/index.js';

const USAGE = `usage: wecom-firewall <command> [options]

commands:
  serve --config FILE        run the firewall (proxy listener + admin listener + egress proxy)
  simulator [--port N] [--host H] [--key K ...] [--rate N]
                             run a WeCom stand-in (N messages/min per key, 0 = no limit)
  demo [--port N]            simulator + firewall with a demo config on 127.0.0.1:8080
${APPROVALS_USAGE}${AUDIT_USAGE}${POLICY_USAGE}${CA_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = createLogger('info');
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      if (!values.config) return usage('serve needs --config FILE');
      const server = await serve({ configFile: values.config });
      log.info('wecom-firewall listening', { proxy: server.url, admin: server.adminUrl ?? 'disabled (no admin: in config)', egress: server.egressUrl ?? 'disabled (no egress: in config)' });
      // SIGHUP: read config and policies again (an invalid set is refused and logged; the old one stays).
      process.on('SIGHUP', () => void server.firewall.reload());
      onSignal(async () => {
        log.info('stopping: finishing requests in flight, then flushing the audit log');
        await server.close();
      });
      return -1;
    }
    case 'simulator': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string', default: '9000' }, host: { type: 'string', default: '127.0.0.1' }, key: { type: 'string', multiple: true }, rate: { type: 'string', default: '20' } },
      });
      const sim = await startSimulator({ host: values.host, port: Number(values.port), keys: values.key, ratePerMinute: Number(values.rate) });
      log.info('WeCom simulator listening', { url: sim.url, keys: values.key?.length ? `${values.key.length} configured` : 'any UUID-shaped key' });
      onSignal(() => sim.close());
      return -1;
    }
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: { port: { type: 'string', default: '8080' } } });
      const demo = await runDemo(Number(values.port));
      onSignal(() => demo.close());
      return -1;
    }
    case 'approvals':
      try {
        return await approvalsCommand(rest, (s) => process.stdout.write(s));
      } catch (err) {
        if (err instanceof UsageError) return usage(err.message);
        throw err;
      }
    case 'audit':
      try {
        return await auditCommand(rest, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
      } catch (err) {
        if (err instanceof UsageError) return usage(err.message);
        throw err;
      }
    case 'ca':
      try {
        return await caCommand(rest, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
      } catch (err) {
        if (err instanceof UsageError) return usage(err.message);
        throw err;
      }
    case 'policy':
      try {
        return policyCommand(rest, (s) => process.stdout.write(s));
      } catch (err) {
        if (err instanceof UsageError) return usage(err.message);
        throw err;
      }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      return usage(`unknown command "${command}"`);
  }
}

function usage(problem: string): number {
  process.stderr.write(`wecom-firewall: ${problem}\n\n${USAGE}`);
  return 2;
}

function onSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`wecom-firewall: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
