import { serve } from '../http/server.js';
import { createLogger } from '../log.js';
import { startSimulator } from '../simulator/index.js';
import { runDemo } from './demo.js';
import { UsageError, parseCommand, portOption } from './args.js';

// The commands that keep running until SIGINT/SIGTERM: serve, simulator, demo. Each resolves to -1
// ("still running") once listening; main.ts then leaves the process to its servers.

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseCommand({ args, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new UsageError('serve needs --config FILE');
  const log = createLogger('info');
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

export async function simulatorCommand(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      port: { type: 'string', default: '9000' },
      host: { type: 'string', default: '127.0.0.1' },
      key: { type: 'string', multiple: true },
      rate: { type: 'string', default: '20' },
      bot: { type: 'string', multiple: true },
    },
  });
  const rate = Number(values.rate);
  if (!/^\d+$/.test(values.rate)) throw new UsageError(`--rate takes a whole number of messages per minute (0 = no limit), not "${values.rate}"`);
  const bots = (values.bot ?? []).map(botOption);
  const sim = await startSimulator({ host: values.host, port: portOption(values.port), keys: values.key, ratePerMinute: rate, bots });
  // Bot ids only: the secrets are credentials, even a stand-in's.
  createLogger('info').info('WeCom simulator listening', {
    url: sim.url,
    keys: values.key?.length ? `${values.key.length} configured` : 'any UUID-shaped key',
    bots: bots.map((bot) => bot.botId),
  });
  onSignal(() => sim.close());
  return -1;
}

/** `--bot BOTID:SECRET`: split at the first colon, so a secret may hold colons. */
function botOption(value: string): { botId: string; secret: string } {
  const colon = value.indexOf(':');
  if (colon < 1 || colon === value.length - 1) throw new UsageError('--bot takes BOTID:SECRET (an intelligent robot the bot WebSocket accepts)');
  return { botId: value.slice(0, colon), secret: value.slice(colon + 1) };
}

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseCommand({ args, options: { port: { type: 'string', default: '8080' } } });
  const port = portOption(values.port);
  if (port === 0 || port === 65535) throw new UsageError('demo --port needs a fixed port with a free one after it (the admin listener takes port+1)');
  const demo = await runDemo(port);
  onSignal(() => demo.close());
  return -1;
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
