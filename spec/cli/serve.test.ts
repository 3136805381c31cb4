import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { ADMIN_SECRET, tempDir, text, spawnCli } from '../helpers.js';


const run = spawnCli;

describe('wecom-firewall serve', () => {
  let sim: Simulator;
  let dir: string;
  const key = randomUUID();
  const env = { OPS_KEY: key, ADMIN_SECRET };
  before(async () => {
    sim = await startSimulator({ keys: [key], quiet: true });
    dir = tempDir();
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from a config file, stops cleanly on SIGTERM, and never prints a secret', async () => {
    const config = join(dir, 'firewall.yaml');
    writeFileSync(
      config,
      `listen: 127.0.0.1:0\nupstream: ${sim.url}\ndataDir: ./data\nrobots:\n  ops:\n    key: \${env:OPS_KEY}\nadmin:\n  listen: 127.0.0.1:0\n  jwtSecret: \${env:ADMIN_SECRET}\napprovals:\n  approvers: [alice]\n`,
    );
    const server = run(['serve', '--config', config], env);
    const { url } = await server.listening();
    const post = (alias: string, body: unknown) => fetch(`${url}/cgi-bin/webhook/send?key=${alias}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post('ops', text('hello'))).status, 200);
    assert.equal((await post(key, text('the agent pasted the real key'))).status, 404);
    await sim.close(); // upstream down: a 502 that is logged
    assert.equal((await post('ops', text('hello again'))).status, 502);
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    assert.match(server.output(), /request refused by a failure/);
    assert.ok(!server.output().includes(key), 'the webhook key was printed');
    assert.ok(!server.output().includes(ADMIN_SECRET), 'the admin secret was printed');
    sim = await startSimulator({ keys: [key], quiet: true });
  });

  it('refuses a bad config with the file, the key and the fix, and exits 1', async () => {
    const config = join(dir, 'typo.yaml');
    writeFileSync(config, `robots:\n  ops:\n    key: \${env:OPS_KEY}\n    limt: 20/min\n`);
    const server = run(['serve', '--config', config], env);
    assert.equal(await server.exited, 1);
    assert.match(server.output(), /typo\.yaml:\d+: \/robots\/ops\/limt: unknown key "limt"; did you mean "limit"\?/);
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const r = run(['frobnicate'], {});
    assert.equal(await r.exited, 2);
    assert.match(r.output(), /usage: wecom-firewall/);
  });
});
