import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { packageRoot } from '../../lib/paths.js';
import { loadConfigFile } from '../../lib/config/load.js';
import { PolicySet } from '../../lib/policy/compile.js';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { ADMIN_SECRET, spawnCli, tempDir, text } from '../helpers.js';

const root = packageRoot();
const cli = join(root, 'dist', 'lib', 'cli', 'main.js');

/** Starts a process and resolves once a line of its stdout matches. */
function startUntil(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ proc: ChildProcessWithoutNullStreams; output: () => string }> {
  const merged = { ...process.env, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]; // undefined: unset in the child
  const proc = spawn(process.execPath, args, { cwd: root, env: merged });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; stdout: ${out} stderr: ${err}`)), 20_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ proc, output: () => out });
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited ${code}; stderr: ${err}`)));
  });
}

function stopped(proc: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const run = promisify(execFile);
/** A directory under the OS's temp directory, and not in the checkout. */
const outsideCheckout = (dir: string) => realpathSync(dir).startsWith(realpathSync(tmpdir()) + sep) && !realpathSync(dir).startsWith(realpathSync(root) + sep);

describe('demo (npm start)', () => {
  it('serves /healthz, shows a forwarded, a refused and a parked message, and says where the console, data and audit log are', async () => {
    const port = await freePort();
    const { proc, output } = await startUntil([cli, 'demo', '--port', String(port)], {}, /Stop with Ctrl-C/);
    let dataDir = '';
    try {
      const base = `http://127.0.0.1:${port}`;
      assert.match(output(), new RegExp(`console +http://127\\.0\\.0\\.1:${port + 1}/console/`));
      dataDir = /^ {2}data +(\S+)/m.exec(output())![1]!;
      assert.ok(outsideCheckout(dataDir), dataDir);
      const auditLog = /^ {2}audit log +(\S+)/m.exec(output())![1]!;
      assert.equal(auditLog, join(dataDir, 'audit', 'audit.log'));
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port + 1}/console/`)).status, 200);
      const send = `${base}/cgi-bin/webhook/send?key=demo-team`;
      assert.equal((await post(send, text('deploy finished'))).status, 200);
      assert.equal((await post(send, text('use AKIAIOSFODNN7EXAMPLE to log in'))).status, 403);
      const parked = await post(send, text('all hands', { mentioned_list: ['@all'] }));
      assert.equal(parked.status, 202);
      const { approval_id } = (await parked.json()) as { approval_id: string };
      const token = /export TOKEN=(\S+)/.exec(output())![1]!;
      const approved = await fetch(`http://127.0.0.1:${port + 1}/approvals/${approval_id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(approved.status, 200);
      assert.ok(existsSync(auditLog));
    } finally {
      assert.equal(await stopped(proc), 0);
    }
    assert.equal(existsSync(dataDir), false, 'the demo removes its data when it stops');
  });
});

describe('examples/express-middleware', () => {
  const server = join(root, 'examples', 'express-middleware', 'server.mjs');
  /** Nothing of the caller's environment decides where it sends. */
  const clean = { WECOM_UPSTREAM: undefined, WECOM_OPS_KEY: undefined, FIREWALL_ADMIN_SECRET: undefined, FIREWALL_DATA_DIR: undefined, PORT: '0', ADMIN_PORT: '0' };

  it('by default starts its own simulator, keeps its data in the temp directory and lets a parked message be approved on its admin listener', async () => {
    const { proc, output } = await startUntil([server], clean, /listening on/);
    let dataDir = '';
    try {
      const line = (name: string) => new RegExp(`^${name} +(\\S+)`, 'm').exec(output())?.[1];
      const base = /listening on (\S+)/.exec(output())![1]!;
      const admin = line('admin')!.replace(/\/console\/$/, '');
      const upstream = line('upstream')!;
      dataDir = line('data')!;
      assert.match(output(), /a WeCom simulator started here/);
      assert.match(upstream, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(outsideCheckout(dataDir), dataDir);

      assert.equal((await fetch(`${base}/status`)).status, 200);
      assert.equal((await post(`${base}/wecom/cgi-bin/webhook/send?key=ops`, text('from the middleware'))).status, 200);
      assert.equal((await post(`${base}/wecom/cgi-bin/webhook/send?key=nope`, text('x'))).status, 404);
      const parked = await post(`${base}/wecom/cgi-bin/webhook/send?key=ops`, text('all hands', { mentioned_list: ['@all'] }));
      assert.equal(parked.status, 202);
      const { approval_id } = (await parked.json()) as { approval_id: string };
      const token = /export TOKEN=(\S+)/.exec(output())![1]!;
      const approved = await fetch(`${admin}/approvals/${approval_id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(approved.status, 200);
      assert.equal(((await approved.json()) as { approval: { status: string } }).approval.status, 'sent');
      assert.equal((await fetch(`${admin}/console/`)).status, 200);
      const messages = ((await (await fetch(`${upstream}/__sim/messages`)).json()) as { messages: unknown[] }).messages;
      assert.equal(messages.length, 2);
      assert.ok(existsSync(join(dataDir, 'audit', 'audit.log')));
    } finally {
      assert.equal(await stopped(proc), 0);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('with WECOM_UPSTREAM forwards there, with its secrets and data dir from the environment, and prints no token', async () => {
    const key = randomUUID();
    const sim = await startSimulator({ keys: [key], quiet: true });
    const dataDir = tempDir();
    const env = { ...clean, WECOM_UPSTREAM: sim.url, WECOM_OPS_KEY: key, FIREWALL_ADMIN_SECRET: ADMIN_SECRET, FIREWALL_DATA_DIR: dataDir };
    const { proc, output } = await startUntil([server], env, /listening on/);
    try {
      const base = /listening on (\S+)/.exec(output())![1]!;
      assert.equal((await post(`${base}/wecom/cgi-bin/webhook/send?key=ops`, text('to the given upstream'))).status, 200);
      assert.equal(sim.delivered(key).length, 1);
      assert.ok(existsSync(join(dataDir, 'approvals.db')));
      assert.doesNotMatch(output(), /TOKEN=|simulator started/);
      assert.doesNotMatch(output(), new RegExp(`${key}|${ADMIN_SECRET}`));
    } finally {
      assert.equal(await stopped(proc), 0);
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('with WECOM_UPSTREAM but without its secrets, refuses to start and names them', async () => {
    const existing = new Set(readdirSync(tmpdir()));
    const r = await run(process.execPath, [server], { cwd: root, env: Object.fromEntries(Object.entries({ ...process.env, ...clean, WECOM_UPSTREAM: 'http://127.0.0.1:1' }).filter(([, v]) => v !== undefined)) }).then(
      () => assert.fail('started'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /environment variable WECOM_OPS_KEY is not set/);
    assert.match(r.stderr, /environment variable FIREWALL_ADMIN_SECRET is not set/);
    assert.doesNotMatch(r.stdout, /listening/);
    assert.deepEqual(readdirSync(tmpdir()).filter((d) => d.startsWith('wecom-firewall-express-') && !existing.has(d)), [], 'no data dir left behind');
  });
});

describe('examples/standalone', () => {
  let sim: Simulator;
  const opsKey = randomUUID();
  const releasesKey = randomUUID();
  before(async () => (sim = await startSimulator({ keys: [opsKey, releasesKey], quiet: true })));
  after(() => sim.close());

  /** The example as the README has a newcomer copy it: upstream: the simulator (and free ports here). */
  function copyTo(dir: string): string {
    let yaml = readFileSync(join(root, 'examples', 'standalone', 'firewall.yaml'), 'utf8');
    for (const [line, replacement] of [
      [/^upstream: .*$/m, `upstream: ${sim.url}`],
      [/^listen: 127\.0\.0\.1:8080 /m, 'listen: 127.0.0.1:0 '],
      [/^ {2}listen: 127\.0\.0\.1:8081 /m, '  listen: 127.0.0.1:0 '],
    ] as const) {
      assert.match(yaml, line);
      yaml = yaml.replace(line, replacement);
    }
    writeFileSync(join(dir, 'firewall.yaml'), yaml);
    return join(dir, 'firewall.yaml');
  }

  it('runs as written by an unprivileged user against the simulator: forwards, parks, and an approver approves with `token` and `approvals`', async () => {
    const dir = tempDir('wf-standalone-');
    const config = copyTo(dir);
    const env = { WECOM_OPS_KEY: opsKey, WECOM_RELEASES_KEY: releasesKey, FIREWALL_ADMIN_SECRET: ADMIN_SECRET };
    const server = spawnCli(['serve', '--config', config], env);
    try {
      const { url, admin } = await server.listening();
      const send = (alias: string, body: unknown) => post(`${url}/cgi-bin/webhook/send?key=${alias}`, body);
      assert.equal((await send('ops-alerts', text('deploy finished'))).status, 200);
      assert.equal((await send('releases', text('v1.2 is out'))).status, 200);
      const parked = await send('ops-alerts', text('all hands', { mentioned_list: ['@all'] }));
      assert.equal(parked.status, 202);
      const { approval_id } = (await parked.json()) as { approval_id: string };

      const token = spawnCli(['token', '--config', config, '--sub', 'alice'], { FIREWALL_ADMIN_SECRET: ADMIN_SECRET });
      assert.equal(await token.exited, 0, token.output());
      const jwt = /^(\S+)\n/.exec(token.output())![1]!;
      const approve = spawnCli(['approvals', 'approve', approval_id, '--admin', admin!], { WECOM_FIREWALL_TOKEN: jwt });
      assert.equal(await approve.exited, 0, approve.output());
      assert.match(approve.output(), /"status": "sent"/);
      assert.equal(sim.delivered(opsKey).length, 2);
      assert.equal(sim.delivered(releasesKey).length, 1);
      assert.ok(existsSync(join(dir, 'data', 'approvals.db')), 'dataDir ./data is beside the config');
    } finally {
      server.proc.kill('SIGTERM');
      assert.equal(await server.exited, 0, server.output());
    }
    const verify = spawnCli(['audit', 'verify', '--config', config]);
    assert.equal(await verify.exited, 0, verify.output());
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads as shipped with its env secrets set, relative paths beside the file', () => {
    const file = join(root, 'examples', 'standalone', 'firewall.yaml');
    const config = loadConfigFile(file, { WECOM_OPS_KEY: 'k1-0000', WECOM_RELEASES_KEY: 'k2-0000', FIREWALL_ADMIN_SECRET: 'x'.repeat(40) });
    assert.equal(config.dataDir, join(root, 'examples', 'standalone', 'data'));
    assert.deepEqual([...config.robots.keys()], ['ops-alerts', 'releases']);
    assert.ok(new PolicySet([join(root, 'policies')], { robots: ['ops-alerts', 'releases'] }).rules.length > 0);
  });
});

describe('examples/openclaw', () => {
  it('firewall.yaml is valid with its secrets set', () => {
    const config = loadConfigFile(join(root, 'examples', 'openclaw', 'firewall.yaml'), {
      HELPDESK_CORP_SECRET: 'real-corp-secret',
      HELPDESK_CLIENT_SECRET: 'client-secret',
      WECOM_OPS_KEY: 'ops-key-0000',
      ASSISTANT_BOT_SECRET: 'real-bot-secret',
      ASSISTANT_BOT_CLIENT: 'client-bot-secret',
      FIREWALL_ADMIN_SECRET: 'x'.repeat(40),
    });
    assert.equal(config.apps.get('helpdesk')?.agentId, 1000002);
    assert.ok(config.robots.has('ops'));
    const plugin = JSON.parse(readFileSync(join(root, 'examples', 'openclaw', 'official-plugin.openclaw.json'), 'utf8')) as { channels: { wecom: { botId: string; websocketUrl: string; network: { egressProxyUrl: string } } } };
    assert.equal(config.bots.get('assistant')?.botId, plugin.channels.wecom.botId, 'the plugin logs in as the configured bot');
    assert.equal(new URL(plugin.channels.wecom.websocketUrl).port, String(config.listen.port));
    assert.equal(new URL(plugin.channels.wecom.network.egressProxyUrl).port, String(config.egress?.listen.port));
  });
});

describe('examples/systemd', () => {
  const unitFile = join(root, 'examples', 'systemd', 'wecom-firewall.service');
  const unit = readFileSync(unitFile, 'utf8');
  const configFile = join(root, 'examples', 'systemd', 'firewall.yaml');
  const directives = (name: string) => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('runs as an unprivileged user with a state directory, and every directive is commented', () => {
    assert.ok(directives('DynamicUser').includes('yes') || directives('User').some((u) => u && u !== 'root'));
    assert.deepEqual(directives('StateDirectory'), ['wecom-firewall']);
    assert.deepEqual(directives('CapabilityBoundingSet'), ['']);
    assert.deepEqual(directives('NoNewPrivileges'), ['yes']);
    // After a blank line or a [Section], the next line explains what follows.
    const lines = unit.split('\n');
    lines.forEach((line, i) => {
      if (/^\w+=/.test(line) && (i === 0 || lines[i - 1] === '' || /^\[/.test(lines[i - 1]!))) assert.fail(`line ${i + 1} "${line}" has no comment above it`);
    });
  });

  it("its firewall.yaml loads with the unit's credentials, and names exactly the unit's credentials and state directory", () => {
    const credentials = new Map(directives('LoadCredential').map((d) => [d.split(':')[0]!, d.slice(d.indexOf(':') + 1)]));
    const referenced = [...readFileSync(configFile, 'utf8').matchAll(/\$\{file:\$CREDENTIALS_DIRECTORY\/([^}]+)\}/g)].map((m) => m[1]!);
    assert.deepEqual([...credentials.keys()].sort(), [...new Set(referenced)].sort());
    for (const source of credentials.values()) assert.match(source, /^\/etc\/wecom-firewall\/credentials\//);
    const dir = tempDir('wf-credentials-');
    for (const name of credentials.keys()) writeFileSync(join(dir, name), `${name}-${'x'.repeat(40)}\n`);
    const config = loadConfigFile(configFile, { CREDENTIALS_DIRECTORY: dir });
    assert.equal(config.dataDir, `/var/lib/${directives('StateDirectory')[0]}`);
    assert.equal(config.robots.get('ops-alerts')?.key, `ops-key-${'x'.repeat(40)}`);
    assert.match(directives('ExecStart')[0]!, /^\/\S+\/wecom-firewall serve --config \/etc\/wecom-firewall\/firewall\.yaml$/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify (where systemd is installed)', async (t) => {
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
    if (!analyze) return t.skip('systemd-analyze not installed');
    // The unit names the installed bin; point it at this checkout's so verify can check the command.
    const dir = tempDir('wf-systemd-');
    mkdirSync(join(dir, 'units'));
    writeFileSync(join(dir, 'units', 'wecom-firewall.service'), unit.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath} ${cli}`));
    try {
      const { stderr } = await run(analyze, ['verify', join(dir, 'units', 'wecom-firewall.service')], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
      assert.doesNotMatch(stderr, /wecom-firewall\.service/, stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
