import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../lib/paths.js';
import { startSimulator, type Simulator } from '../../lib/simulator/index.js';
import { ADMIN_SECRET, tempDir, text } from '../helpers.js';

// The package as a user gets it: `npm pack`, unpacked into <tmp>/node_modules/wecom-firewall, used
// from <tmp> (outside the checkout). To stay fast and offline, its runtime dependencies are symlinked
// from the checkout's node_modules instead of installed (a real `npm install ./tgz` compiles
// better-sqlite3: minutes). A dependency missing from package.json's `dependencies`, a file missing
// from `files`, or a path resolved against the checkout instead of the installed package fails here.

const root = packageRoot();
const run = promisify(execFile);

interface Packed {
  filename: string;
  files: Array<{ path: string }>;
}

/** Every file the tarball may hold starts with one of these; the specs, bench and sources stay out. */
const SHIPPED = ['dist/lib/', 'lib/', 'policies/', 'examples/', 'package.json', 'README.md', 'LICENSE'];

describe('the packed tarball, installed outside the checkout', { concurrency: true }, () => {
  let dir: string;
  let installed: string;
  let packed: Packed;
  let sim: Simulator;
  const key = randomUUID();

  before(async () => {
    dir = realpathSync(tempDir('wf-package-'));
    sim = await startSimulator({ keys: [key], quiet: true });
    // --ignore-scripts: `prepare` would rebuild dist/ under the running suite; the suite runs from a fresh build.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    packed = (JSON.parse(stdout) as Packed[])[0]!;
    installed = join(dir, 'node_modules', 'wecom-firewall');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(dir, packed.filename), '-C', installed, '--strip-components=1']);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies)) {
      const link = join(dir, 'node_modules', dep);
      mkdirSync(dirname(link), { recursive: true }); // @scope/
      symlinkSync(join(root, 'node_modules', dep), link, 'dir');
    }
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a node script from <tmp>, as a user of the installed package would. */
  const node = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, args, { cwd: dir, env: { ...process.env, ...env } });
  const bin = () => join(installed, 'dist', 'lib', 'cli', 'main.js');

  it('holds the runtime files and nothing of the checkout besides', () => {
    const paths = packed.files.map((f) => f.path);
    assert.deepEqual(paths.filter((p) => !SHIPPED.some((s) => p === s || p.startsWith(s))), []);
    assert.deepEqual(paths.filter((p) => /^lib\/.*\.ts$|^spec\/|^dist\/spec\/|^bench\//.test(p)), []);
    for (const needed of [
      'dist/lib/cli/main.js',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'lib/policy/policy.schema.json',
      'lib/policy/fixtures.schema.json',
      'lib/http/console/index.html',
      'lib/http/console/console.js',
      'lib/http/console/console.css',
      'policies/90-default.yaml',
      'policies/fixtures/20-guardrails.yaml',
      'examples/standalone/firewall.yaml',
      'examples/systemd/wecom-firewall.service',
      'examples/systemd/firewall.yaml',
    ]) {
      assert.ok(paths.includes(needed), `${needed} is in the tarball`);
    }
  });

  it('runs the bin: --help, and policy lint and test on the shipped packs and fixtures it carries', async () => {
    const help = await node([bin(), '--help']);
    assert.match(help.stdout, /^usage: wecom-firewall <command>/);
    const lint = JSON.parse((await node([bin(), 'policy', 'lint', '--json'])).stdout) as { ok: boolean; policies: string[]; rules: number };
    assert.equal(lint.ok, true);
    assert.deepEqual(lint.policies, [join(installed, 'policies')]);
    assert.ok(lint.rules > 10);
    const test = JSON.parse((await node([bin(), 'policy', 'test', '--json'])).stdout) as { ok: boolean; fixtures: string[]; summary: { cases: number; failed: number } };
    assert.equal(test.ok, true);
    assert.ok(test.fixtures.length > 0 && test.fixtures.every((f) => f.startsWith(join(installed, 'policies', 'fixtures'))), test.fixtures.join());
    assert.ok(test.summary.cases > 100);
  });

  it('serves a config from another folder: forwards to the simulator and serves the console', async () => {
    const config = join(dir, 'firewall.yaml');
    writeFileSync(
      config,
      `listen: 127.0.0.1:0\nupstream: ${sim.url}\ndataDir: ./data\nrobots:\n  ops:\n    key: \${env:OPS_KEY}\nadmin:\n  listen: 127.0.0.1:0\n  jwtSecret: \${env:ADMIN_SECRET}\napprovals:\n  approvers: [alice]\n`,
    );
    const proc = spawn(process.execPath, [bin(), 'serve', '--config', config], { cwd: dir, env: { ...process.env, OPS_KEY: key, ADMIN_SECRET } });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    try {
      while (!/listening/.test(output)) {
        assert.equal(proc.exitCode, null, output);
        await new Promise((r) => setTimeout(r, 50));
      }
      const proxy = /"proxy":"([^"]+)"/.exec(output)![1]!;
      const admin = /"admin":"(http[^"]+)"/.exec(output)![1]!;
      const res = await fetch(`${proxy}/cgi-bin/webhook/send?key=ops`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(text('from the installed package')) });
      assert.equal(res.status, 200);
      assert.equal(sim.delivered(key).length, 1);
      const page = await fetch(`${admin}/console/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      assert.equal((await fetch(`${admin}/console/console.js`)).status, 200);
      assert.ok(existsSync(join(dir, 'data', 'approvals.db')), 'dataDir is relative to the config, in the user\'s folder');
    } finally {
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    }
    assert.doesNotMatch(output, new RegExp(`${key}|${ADMIN_SECRET}`));
  });

  it("imports createFirewall from 'wecom-firewall' (ESM) and builds, checks and closes a firewall", async () => {
    writeFileSync(
      join(dir, 'embed.mjs'),
      `import { fileURLToPath } from 'node:url';
import { createFirewall, signApproverToken } from 'wecom-firewall';
const firewall = createFirewall({ config: { dataDir: './embed-data', robots: { ops: { key: '\${env:OPS_KEY}' } } }, env: { OPS_KEY: 'ops-key-0000' } });
const token = await signApproverToken('x'.repeat(32), 'alice');
console.log(JSON.stringify({
  healthy: firewall.healthy(),
  policies: firewall.config.policies,
  dataDir: firewall.config.dataDir,
  schema: fileURLToPath(import.meta.resolve('wecom-firewall/policy.schema.json')),
  token: token.split('.').length,
}));
await firewall.close();
`,
    );
    const result = JSON.parse((await node(['embed.mjs'])).stdout) as { healthy: boolean; policies: string[]; dataDir: string; schema: string; token: number };
    assert.deepEqual(result, {
      healthy: true,
      policies: [join(installed, 'policies')],
      dataDir: join(dir, 'embed-data'),
      schema: join(installed, 'lib', 'policy', 'policy.schema.json'),
      token: 3,
    });
  });
});
