import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS, FirewallError } from '../lib/errors.js';
import { packageRoot } from '../lib/paths.js';

describe('the error table', () => {
  it('is documented in the README exactly as lib/errors.ts has it', () => {
    const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
    const rows = new Map<string, [number, number]>();
    for (const m of readme.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \| (-?\d+) \|/gm)) rows.set(m[1]!, [Number(m[2]), Number(m[3])]);
    assert.deepEqual(
      [...rows.entries()].sort(),
      Object.entries(ERRORS).map(([code, e]) => [code, [e.status, e.errcode]]).sort(),
    );
  });

  it('gives every refusal a 4xx or 5xx status and a non-zero errcode', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      assert.ok(e.status >= 400 && e.status < 600, code);
      assert.notEqual(e.errcode, 0, code);
    }
  });

  it('lets a policy override the errcode but keeps the status', () => {
    const err = new FirewallError('INVALID_PAYLOAD', 'x', { errcode: 44004 });
    assert.deepEqual([err.status, err.errcode, err.code], [400, 44004, 'INVALID_PAYLOAD']);
  });
});
