import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { startStack, tempDir, text, type Stack } from '../helpers.js';

const cli = join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'approvals', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('wecom-firewall approvals', () => {
  let stack: Stack;
  let id: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    stack = await startStack();
    id = (await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }))).json.approval_id as string;
    env = { WECOM_FIREWALL_TOKEN: await stack.token('alice') };
  });
  after(() => stack.close());

  it('lists pending approvals and shows one', async () => {
    const list = await run(['list', '--admin', stack.server.adminUrl!], env);
    assert.equal(list.code, 0, list.out);
    assert.match(list.out, new RegExp(`${id}\\s+pending\\s+\\S+\\s+robot ops\\s+text`));
    const show = await run(['show', id, '--admin', stack.server.adminUrl!], env);
    assert.equal(show.code, 0);
    assert.equal((JSON.parse(show.out) as { status: string }).status, 'pending');
  });

  it('approves by id with a comment, reading the admin address from the config file; a second approve fails with 409', async () => {
    const config = join(tempDir(), 'firewall.yaml');
    writeFileSync(config, `admin:\n  listen: ${stack.server.adminUrl!.replace('http://', '')}\n  jwtSecret: \${env:UNSET_IN_THIS_SHELL}\n`);
    const approve = await run(['approve', id, '--comment', 'ok for the all-hands', '--config', config], env);
    assert.equal(approve.code, 0, approve.out);
    assert.equal((JSON.parse(approve.out) as { status: string }).status, 'sent');
    assert.equal(stack.sim.delivered(stack.keys.ops).length, 1);
    const again = await run(['approve', id, '--admin', stack.server.adminUrl!], env);
    assert.equal(again.code, 1);
    assert.match(again.out, /HTTP 409/);
  });

  it('refuses without a token (exit 2) and reports a bad one (exit 1, 401)', async () => {
    assert.equal((await run(['list', '--admin', stack.server.adminUrl!], { WECOM_FIREWALL_TOKEN: '' })).code, 2);
    const bad = await run(['list', '--admin', stack.server.adminUrl!], { WECOM_FIREWALL_TOKEN: 'not.a.token' });
    assert.equal(bad.code, 1);
    assert.match(bad.out, /HTTP 401/);
  });
});
