import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { throttle } from '../lib/log-throttle.js';

describe('throttle', () => {
  it('writes `burst` lines per window, then counts; the next line written carries the count', () => {
    let now = 0;
    const t = throttle(10_000, 3, () => now);
    const written: number[] = [];
    for (let i = 0; i < 10; i++) t((n) => written.push(n));
    assert.deepEqual(written, [0, 0, 0]);
    now += 10_000;
    t((n) => written.push(n));
    assert.deepEqual(written, [0, 0, 0, 7]);
  });
});
