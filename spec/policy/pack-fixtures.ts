import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import type { PolicySet } from '../../lib/policy/compile.js';
import { checkCase, loadFixtures } from '../../lib/policy/fixtures.js';
import { shippedPoliciesDir } from '../../lib/paths.js';

// The shipped packs' fixture files (policies/fixtures/*.yaml) as specs: one `it` per case, decided by
// the same checkCase that `wecom-firewall policy test` runs. The tables live in the YAML only.

export const SHIPPED_FIXTURES_DIR = join(shippedPoliciesDir(), 'fixtures');

export function fixtureSpecs(policies: PolicySet, names: string[]): void {
  const { files, problems } = loadFixtures(names.map((n) => join(SHIPPED_FIXTURES_DIR, n)));
  it('fixture files load without problems', () => assert.deepEqual(problems, []));
  for (const file of files) {
    describe(`fixtures ${basename(file.file)}`, () => {
      for (const c of file.cases) {
        it(c.name, () => {
          const result = checkCase(policies, c);
          assert.deepEqual(result.got, result.expected, `${c.location}${result.decision.detail ? ` (${result.decision.detail})` : ''}`);
        });
      }
    });
  }
}
