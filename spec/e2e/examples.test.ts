import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { packageRoot } from '../../lib/paths.js';
import { ConfigError, loadConfigFile } from '../../lib/config/load.js';
import { PolicySet } from '../../lib/policy/compile.js';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { tempDir, text } from '../helpers.js';

const root = packageRoot();
const cli = join(root, 'dist', 'lib', 'cli', 'main.js');

/** Starts a process and resolves once a line of its stdout matches. */
function startUntil(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ proc: ChildProcessWithoutNullStreams; output: () => string }> {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env } });
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

describe('demo (npm start)', () => {
  it('serves /healthz and shows a forwarded, a refused and a parked message', async () => {
    const port = await freePort();
    const { proc, output } = await startUntil([cli, 'demo', '--port', String(port)], {}, /Stop with Ctrl-C/);
    try {
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const send = `${base}/cgi-bin/webhook/send?key=demo-team`;
      assert.equal((await post(send, text('deploy finished'))).status, 200);
      assert.equal((await post(send, text('use AKIAIOSFODNN7EXAMPLE to log in'))).status, 403);
      const parked = await post(send, text('all hands', { mentioned_list: ['@all'] }));
      assert.equal(parked.status, 202);
      const { approval_id } = (await parked.json()) as { approval_id: string };
      const token = /export TOKEN=(\S+)/.exec(output())![1]!;
      const approved = await fetch(`http://127.0.0.1:${port + 1}/approvals/${approval_id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(approved.status, 200);
    } finally {
      assert.equal(await stopped(proc), 0);
    }
  });
});

describe('examples', () => {
  let sim: Simulator;
  const key = randomUUID();
  before(async () => (sim = await startSimulator({ keys: [key], quiet: true })));
  after(() => sim.close());

  it('express-middleware mounts the firewall under /wecom beside the app\'s own routes', async () => {
    const dataDir = tempDir();
    const { proc, output } = await startUntil([join(root, 'examples', 'express-middleware', 'server.mjs')], { PORT: '0', WECOM_OPS_KEY: key, WECOM_UPSTREAM: sim.url, FIREWALL_DATA_DIR: dataDir }, /listening on/);
    try {
      const base = /listening on (\S+)/.exec(output())![1]!;
      assert.equal((await fetch(`${base}/status`)).status, 200);
      const a = await post(`${base}/wecom/cgi-bin/webhook/send?key=ops`, text('from the middleware'));
      assert.equal(a.status, 200);
      assert.equal(sim.delivered(key).length, 1);
      assert.equal((await post(`${base}/wecom/cgi-bin/webhook/send?key=nope`, text('x'))).status, 404);
    } finally {
      assert.equal(await stopped(proc), 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('openclaw/firewall.yaml is valid with its secrets set', () => {
    const config = loadConfigFile(join(root, 'examples', 'openclaw', 'firewall.yaml'), {
      HELPDESK_CORP_SECRET: 'real-corp-secret',
      HELPDESK_CLIENT_SECRET: 'client-secret',
      WECOM_OPS_KEY: 'ops-key-0000',
      FIREWALL_ADMIN_SECRET: 'x'.repeat(40),
    });
    assert.equal(config.apps.get('helpdesk')?.agentId, 1000002);
    assert.ok(config.robots.has('ops'));
  });

  it('standalone/firewall.yaml is valid: with its env secrets set, the only problem is the secret file this machine lacks', () => {
    const file = join(root, 'examples', 'standalone', 'firewall.yaml');
    assert.throws(
      () => loadConfigFile(file, { WECOM_OPS_KEY: 'k1-0000', FIREWALL_ADMIN_SECRET: 'x'.repeat(40) }),
      (err: ConfigError) => err.problems.length === 1 && /\/robots\/releases\/key: cannot read secret file/.test(err.problems[0]!),
    );
    assert.ok(new PolicySet([join(root, 'policies')], { robots: ['ops-alerts', 'releases'] }).rules.length > 0);
  });
});
