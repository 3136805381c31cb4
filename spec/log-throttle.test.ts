import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { throttle } from '../lib/log-throttle.js';

describe('throttle', () => {
  it('writes `burst` lines per window, then counts, and reports the count when the window ends though nothing follows (suppressed failures were never reported)', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    try {
      const written: string[] = [];
      const t = throttle(10_000, 3, (n) => written.push(`suppressed ${n}`));
      for (let i = 0; i < 10; i++) t(() => written.push(`line ${i}`));
      assert.deepEqual(written, ['line 0', 'line 1', 'line 2']);
      mock.timers.tick(10_000);
      assert.deepEqual(written, ['line 0', 'line 1', 'line 2', 'suppressed 7']);
      t(() => written.push('next window'));
      assert.equal(written.at(-1), 'next window');
    } finally {
      mock.timers.reset();
    }
  });
});
