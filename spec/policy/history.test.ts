import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSets, restoreSet, saveSet } from '../../lib/policy/history.js';
import { tempDir } from '../helpers.js';

// Known-good policy sets: kept, listed, restored, and never trusted beyond the configured paths.

function setup() {
  const root = tempDir();
  const dataDir = join(root, 'data');
  const policies = join(root, 'policies');
  mkdirSync(policies);
  const file = join(policies, 'rules.yaml');
  writeFileSync(file, 'v1');
  const first = saveSet(dataDir, [policies], [{ file, text: 'v1' }], 10, new Date('2026-01-01T00:00:00Z'))!;
  writeFileSync(file, 'v2');
  saveSet(dataDir, [policies], [{ file, text: 'v2' }], 10, new Date('2026-01-02T00:00:00Z'));
  return { root, dataDir, policies, file, first };
}

describe('policy history', () => {
  it('keeps each distinct set once, newest first, and at most `keep`', () => {
    const { dataDir, policies, file } = setup();
    assert.equal(saveSet(dataDir, [policies], [{ file, text: 'v2' }], 10), undefined, 'unchanged: not saved again');
    assert.deepEqual(listSets(dataDir).map((s) => s.files.length), [1, 1]);
    saveSet(dataDir, [policies], [{ file, text: 'v3' }], 2, new Date('2026-01-03T00:00:00Z'));
    assert.equal(listSets(dataDir).length, 2);
  });

  it('restores a set over the policy files and sets aside files added since', () => {
    const { dataDir, policies, file, first } = setup();
    writeFileSync(join(policies, 'added.yaml'), 'new');
    const { written, setAside } = restoreSet(dataDir, first, [policies]);
    assert.deepEqual(written, [file]);
    assert.equal(readFileSync(file, 'utf8'), 'v1');
    assert.equal(setAside.length, 1);
    assert.ok(!existsSync(join(policies, 'added.yaml')));
  });

  it('refuses a tampered manifest that points outside the configured policies, changing nothing (regression: rollback wrote wherever the manifest said)', () => {
    const { root, dataDir, policies, file, first } = setup();
    const manifest = join(dataDir, 'policy-history', first, 'manifest.json');
    const set = JSON.parse(readFileSync(manifest, 'utf8')) as { files: Array<{ path: string; copy: string }>; paths: string[] };
    const victim = join(root, 'victim.txt');
    for (const tamper of [
      (s: typeof set) => (s.files[0]!.path = victim),
      (s: typeof set) => (s.files[0]!.copy = '../../../victim.txt'),
      (s: typeof set) => (s.paths = [root]),
    ]) {
      const copy = JSON.parse(JSON.stringify(set)) as typeof set;
      tamper(copy);
      writeFileSync(manifest, JSON.stringify({ ...copy, id: first }));
      assert.throws(() => restoreSet(dataDir, first, [policies]));
      assert.equal(readFileSync(file, 'utf8'), 'v2', 'nothing was changed');
      assert.ok(!existsSync(victim));
    }
  });

  it('skips a manifest that does not parse instead of failing every save and listing', () => {
    const { dataDir, first } = setup();
    writeFileSync(join(dataDir, 'policy-history', first, 'manifest.json'), '{broken');
    assert.equal(listSets(dataDir).length, 1);
  });
});
