import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { tempDir, text, spawnCli, until } from '../helpers.js';

// The running server reloads config and policies on SIGHUP and on file change, refuses an invalid
// set (the last good one stays), keeps good sets for `policy rollback`, and on SIGTERM finishes what
// is in flight before it exits.

const cli = join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');
const ALLOW = `default: { action: allow, reason: nothing objected }\n`;
const REJECT_DEPLOY = `rules:
  - name: no-deploy-talk
    description: deploy messages are refused
    condition: { properties: { text: { properties: { content: { pattern: "deploy" } } } } }
    action: reject
    reason: no deploy talk here
${ALLOW}`;

const start = (config: string, env: NodeJS.ProcessEnv) => spawnCli(['serve', '--config', config], env);

const policyCli = (args: string[]) => spawnSync(process.execPath, [cli, 'policy', ...args], { encoding: 'utf8' });

/** A POST to webhook/send for robot ops on a connection of its own (no keep-alive). */
function postOnce(base: string, body: string): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/cgi-bin/webhook/send?key=ops`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('reload, rollback and graceful stop', () => {
  let sim: Simulator;
  let dir: string;
  let config: string;
  let policyFile: string;
  let server: ReturnType<typeof start>;
  let url: string;
  const key = randomUUID();
  let n = 0;
  // Every message distinct: a repeat within dedupe.window would get the first one's answer.
  const post = (content: string) => postRaw(`${content} #${n++}`);
  const postRaw = (content: string) => fetch(`${url}/cgi-bin/webhook/send?key=ops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(text(content)) });

  before(async () => {
    sim = await startSimulator({ keys: [key], quiet: true, ratePerMinute: 0 });
    dir = tempDir();
    mkdirSync(join(dir, 'policies'));
    policyFile = join(dir, 'policies', 'rules.yaml');
    writeFileSync(policyFile, ALLOW);
    config = join(dir, 'firewall.yaml');
    // keepAliveTimeout 60s: the policy CLI runs with spawnSync, which blocks this process for
    // seconds on a loaded machine, so fetch cannot retire its idle keep-alive socket at 4 s as it
    // would; with the default 5 s the server could close that socket just as the next request went
    // out on it (ECONNRESET, "fetch failed"; seen in `until` after `policy rollback`).
    writeFileSync(config, `listen: 127.0.0.1:0\nupstream: ${sim.url}\ndataDir: ./data\npolicies: [./policies]\nserver: { keepAliveTimeout: 60s }\nrobots:\n  ops:\n    key: \${env:OPS_KEY}\n    limit: 1000/min\n`);
    server = start(config, { OPS_KEY: key });
    ({ url } = await server.listening());
  });
  after(async () => {
    if (server.proc.exitCode === null) server.proc.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies an edited policy file without a restart', async () => {
    assert.equal((await post('deploy 1')).status, 200);
    writeFileSync(policyFile, REJECT_DEPLOY);
    await until('the new rule', async () => (await post('deploy 2')).status === 403);
    assert.equal((await post('hello')).status, 200);
  });

  it('refuses a policy file with a YAML error or an invalid rule: the last good set stays, the log names file and line', async () => {
    writeFileSync(policyFile, `${REJECT_DEPLOY}  - name: [broken\n`);
    await until('the refusal in the log', () => /reload refused/.test(server.output()));
    assert.match(server.output(), /rules\.yaml:\d+/);
    assert.equal((await post('deploy 3')).status, 403, 'the last good set is still in force');
    assert.equal((await post('hello')).status, 200);
    const before = (server.output().match(/reload refused/g) ?? []).length;
    writeFileSync(policyFile, REJECT_DEPLOY.replace('action: reject', 'action: rejekt'));
    await until('a second refusal', () => (server.output().match(/reload refused/g) ?? []).length > before);
    assert.equal((await post('deploy 4')).status, 403);
  });

  it('reloads on SIGHUP, and refuses a change that needs a restart', async () => {
    writeFileSync(policyFile, REJECT_DEPLOY);
    const reloads = () => (server.output().match(/config and policies reloaded/g) ?? []).length;
    const n = reloads();
    server.proc.kill('SIGHUP');
    await until('a reload', () => reloads() > n);
    const refusals = (server.output().match(/reload refused/g) ?? []).length;
    writeFileSync(config, readFileSync(config, 'utf8').replace('dataDir: ./data', 'dataDir: ./elsewhere'));
    await until('the refusal', () => (server.output().match(/reload refused/g) ?? []).length > refusals);
    assert.match(server.output(), /dataDir: changed; this setting needs a restart/);
    writeFileSync(config, readFileSync(config, 'utf8').replace('dataDir: ./elsewhere', 'dataDir: ./data'));
  });

  it('keeps good policy sets, and `policy rollback` restores the one before, which the server then applies', async () => {
    const history = policyCli(['history', '--config', config]);
    assert.equal(history.status, 0, history.stderr);
    assert.ok(history.stdout.trim().split('\n').length >= 2, history.stdout);
    assert.equal((await post('deploy 5')).status, 403);
    // The set before the newest allowed everything.
    const rollback = policyCli(['rollback', '--config', config]);
    assert.equal(rollback.status, 0, rollback.stdout);
    assert.equal(readFileSync(policyFile, 'utf8'), ALLOW);
    await until('the rolled-back set', async () => (await post('deploy 6')).status === 200);
    assert.equal(policyCli(['rollback', '--config', config, '--to', 'no-such-set']).status, 1);
  });

  it('on SIGTERM, finishes a request in flight, then exits 0 with its audit line written', async () => {
    // A WeCom that answers only when told to: the request is certainly in flight when SIGTERM
    // arrives, and is answered only once the server has begun to stop.
    let arrived!: () => void;
    const atUpstream = new Promise<void>((r) => (arrived = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const slow = http.createServer((req, res) => {
      req.resume();
      arrived();
      void released.then(() => res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' })));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    writeFileSync(config, readFileSync(config, 'utf8').replace(/upstream: .*/, `upstream: http://127.0.0.1:${(slow.address() as AddressInfo).port}`));
    server.proc.kill('SIGTERM');
    await server.exited;
    server = start(config, { OPS_KEY: key });
    ({ url } = await server.listening());
    // On a connection of its own (Connection: close): a keep-alive socket that went idle after its
    // answer would hold the stopping server until keepAliveTimeout or its drain limit.
    const inFlight = postOnce(url, JSON.stringify(text(`slow ${randomUUID()}`)));
    await atUpstream;
    server.proc.kill('SIGTERM');
    await until('the server to begin stopping', () => /stopping: finishing requests in flight/.test(server.output()));
    release();
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    const requestId = answer.requestId;
    assert.equal(await server.exited, 0);
    await assert.rejects(post('after stop'), 'no longer accepting');
    const audit = readFileSync(join(dir, 'data', 'audit', 'audit.log'), 'utf8');
    assert.ok(audit.includes(requestId) && audit.includes('"forwarded"'), 'the in-flight request was audited before exit');
    slow.closeAllConnections();
    slow.close();
  });
});
