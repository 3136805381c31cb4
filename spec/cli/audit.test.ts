import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { tempDir } from '../helpers.js';
import { DAY, chainFiles, clock, readLines, writeLines, writeRecords } from '../audit/fixtures.js';

const cli = join(packageRoot(), 'dist', 'lib', 'cli', 'main.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, 'audit', ...args], { env: { ...process.env, UNSET_IN_THIS_SHELL: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function verifyJson(dir: string): Promise<{ code: number; ok: boolean; problem?: { code: string; file: string; line: number } }> {
  const r = await run(['verify', '--dir', dir, '--json']);
  return { code: r.code, ...(JSON.parse(r.stdout) as { ok: boolean; problem?: { code: string; file: string; line: number } }) };
}

/** A data dir with an audit chain over several rotated files and a restart. */
async function dataDirWithChain(): Promise<{ dataDir: string; dir: string; files: string[] }> {
  const dataDir = tempDir();
  const dir = join(dataDir, 'audit');
  const c = clock();
  await writeRecords(dir, c, 30, { maxFileBytes: 3000 });
  await writeRecords(dir, c, 30, { maxFileBytes: 3000, from: 30 });
  return { dataDir, dir, files: chainFiles(dir) };
}

describe('wecom-firewall audit verify', () => {
  it('exits 0 with a one-line summary for an intact chain, finding the audit dir from a config whose secrets are not resolvable', async () => {
    const { dataDir, files } = await dataDirWithChain();
    const config = join(dataDir, 'firewall.yaml');
    writeFileSync(config, 'dataDir: .\nrobots:\n  ops:\n    key: ${env:UNSET_IN_THIS_SHELL}\nadmin:\n  jwtSecret: ${env:UNSET_IN_THIS_SHELL}\n');
    const r = await run(['verify', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stdout, new RegExp(`${files.length} file\\(s\\)`));
  });

  it('reads audit.dir from the config, relative to the config file', async () => {
    const { dataDir } = await dataDirWithChain();
    const configDir = join(dataDir, 'etc');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'firewall.yaml'), 'dataDir: /nonexistent\naudit:\n  dir: ../audit\n');
    assert.equal((await run(['verify', '--config', join(configDir, 'firewall.yaml')])).code, 0);
  });

  it('exits 1 naming file and line of an edited record', async () => {
    const { dir, files } = await dataDirWithChain();
    const lines = readLines(dir, files[1]!);
    lines[3] = lines[3]!.replace('"latency_ms":3', '"latency_ms":4');
    writeLines(dir, files[1]!, lines);
    const r = await run(['verify', '--dir', dir]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${files[1]}:4:`), r.stderr);
    assert.deepEqual(await verifyJson(dir).then((j) => [j.code, j.problem?.code, j.problem?.file, j.problem?.line]), [1, 'ALTERED', files[1], 4]);
  });

  it('exits 1 on a deleted line, and on two swapped lines, at their position', async () => {
    const { dir } = await dataDirWithChain();
    const lines = readLines(dir, 'audit.log');
    writeLines(dir, 'audit.log', [...lines.slice(0, 2), ...lines.slice(3)]);
    assert.deepEqual(await verifyJson(dir).then((j) => [j.code, j.problem?.file, j.problem?.line]), [1, 'audit.log', 3]);
    writeLines(dir, 'audit.log', [...lines.slice(0, 2), lines[3]!, lines[2]!, ...lines.slice(4)]);
    assert.deepEqual(await verifyJson(dir).then((j) => [j.code, j.problem?.file, j.problem?.line]), [1, 'audit.log', 3]);
  });

  it('exits 1 when a middle rotated file is deleted', async () => {
    const { dir, files } = await dataDirWithChain();
    rmSync(join(dir, files[1]!));
    assert.deepEqual(await verifyJson(dir).then((j) => [j.code, j.problem?.file, j.problem?.line]), [1, files[2], 1]);
  });

  it('exits 0 after retention deleted the oldest files', async () => {
    const dataDir = tempDir();
    const dir = join(dataDir, 'audit');
    const c = clock();
    for (let day = 0; day < 5; day++, c.t += DAY) await writeRecords(dir, c, 5, { retentionDays: 2, from: day * 5 });
    assert.equal(chainFiles(dir).length, 3); // of five days' files, the two oldest were pruned
    const r = await run(['verify', '--dir', dir]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('exits 1 on a torn last line until a restart records it, then 0 with a note', async () => {
    const { dir } = await dataDirWithChain();
    const lines = readLines(dir, 'audit.log');
    appendFileSync(join(dir, 'audit.log'), lines.at(-1)!.slice(0, 50));
    assert.deepEqual(await verifyJson(dir).then((j) => [j.code, j.problem?.code, j.problem?.line]), [1, 'UNTERMINATED', lines.length + 1]);
    await writeRecords(dir, clock('2026-03-01T11:00:00.000Z'), 1);
    const r = await run(['verify', '--dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 2); // the summary, and a note naming the torn line
    assert.ok(r.stdout.includes(`audit.log:${lines.length + 1}:`));
  });

  it('exits 2 on a usage error', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['verify'])).code, 2);
    assert.equal((await run(['verify', '--dir', 'a', '--config', 'b'])).code, 2);
  });

  it('exits 1 when there is nothing to verify', async () => {
    assert.equal((await run(['verify', '--dir', join(tempDir(), 'nothing')])).code, 1);
  });

  it('--anchor SEQ:HASH (as a previous run printed it) catches lines cut from the end', async () => {
    const { dir } = await dataDirWithChain();
    const first = await run(['verify', '--dir', dir]);
    const anchor = /anchor (\d+:[0-9a-f]{64})/.exec(first.stdout)![1]!;
    writeLines(dir, 'audit.log', readLines(dir, 'audit.log').slice(0, -2));
    assert.equal((await run(['verify', '--dir', dir])).code, 0);
    assert.equal((await run(['verify', '--dir', dir, '--anchor', anchor])).code, 1);
    assert.equal((await run(['verify', '--dir', dir, '--anchor', 'nonsense'])).code, 2);
  });
});
