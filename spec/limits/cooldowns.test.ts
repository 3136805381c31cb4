import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cooldowns } from '../../lib/limits/cooldowns.js';

describe('Cooldowns', () => {
  it('holds a target until its cooldown ends, and only that target', () => {
    let now = 1_000;
    const c = new Cooldowns(() => now);
    assert.equal(c.remainingMs('robot:ops'), 0);
    c.start('robot:ops', 60_000);
    assert.equal(c.remainingMs('robot:ops'), 60_000);
    assert.equal(c.remainingMs('robot:team'), 0);
    now += 59_999;
    assert.equal(c.remainingMs('robot:ops'), 1);
    now += 1;
    assert.equal(c.remainingMs('robot:ops'), 0);
    assert.deepEqual(c.active(), []);
  });

  it('a second 45009 extends a cooldown but never shortens it', () => {
    let now = 0;
    const c = new Cooldowns(() => now);
    c.start('app:helpdesk', 60_000);
    now = 10_000;
    c.start('app:helpdesk', 5_000);
    assert.equal(c.remainingMs('app:helpdesk'), 50_000);
    c.start('app:helpdesk', 60_000);
    assert.deepEqual(c.active(), [{ target: 'app:helpdesk', remainingMs: 60_000 }]);
  });
});
