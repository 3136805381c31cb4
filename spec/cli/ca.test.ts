import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { tempDir } from '../helpers.js';

// `wecom-firewall ca init|export` as an operator runs them: the real CLI, its streams and exit codes.

const cli = join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'ca', ...args], { env: { ...process.env, SPEC_OPS_KEY: 'real-ops-key-1234' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function config(): { file: string; dataDir: string } {
  const dir = tempDir('wf-cli-ca-');
  const file = join(dir, 'firewall.yaml');
  writeFileSync(file, "dataDir: ./data\nrobots:\n  ops: { key: '${env:SPEC_OPS_KEY}' }\negress: { listen: 127.0.0.1:0 }\n");
  return { file, dataDir: join(dir, 'data') };
}

describe('wecom-firewall ca', { concurrency: true }, () => {
  it('export without a CA says to run init (exit 1); init creates it once; export prints only the PEM on stdout', async () => {
    const { file, dataDir } = config();
    const none = await run(['export', '--config', file]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no CA yet at .*ca\.pem: run wecom-firewall ca init --config/);

    const init = await run(['init', '--config', file]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /^created: .*data\/ca\/ca\.pem\nSHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}\n/);
    assert.equal(statSync(join(dataDir, 'ca', 'ca.key')).mode & 0o777, 0o600);
    const again = await run(['init', '--config', file]);
    assert.match(again.stdout, /^exists, unchanged: /);

    const out = await run(['export', '--config', file]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    assert.doesNotMatch(out.stdout + out.stderr, /PRIVATE KEY/);
    const cert = new X509Certificate(out.stdout);
    assert.ok(cert.ca);
    assert.match(out.stderr, new RegExp(`SHA-256 fingerprint: ${cert.fingerprint256}\n`));
    assert.match(init.stdout, new RegExp(cert.fingerprint256));
  });

  it('refuses a missing --config or verb with usage (exit 2)', async () => {
    assert.equal((await run(['export'])).code, 2);
    assert.equal((await run(['rotate', '--config', 'x'])).code, 2);
  });
});
