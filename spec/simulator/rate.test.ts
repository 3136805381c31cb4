import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSimulator } from '../../lib/simulator/index.js';
import { RollingWindow } from '../../lib/simulator/rate.js';
import { KEY, OTHER_KEY, send, text } from './helpers.js';

describe('simulator rate limit', () => {
  it('answers 45009 to the 21st message within a minute, per robot', async () => {
    const sim = await startSimulator({ quiet: true, ratePerMinute: 20 });
    try {
      for (let i = 1; i <= 20; i++) assert.equal((await send(sim, text(`message ${i}`))).json.errcode, 0);
      assert.equal((await send(sim, text('message 21'))).json.errcode, 45009);
      assert.equal((await send(sim, text('other robot'), OTHER_KEY)).json.errcode, 0);
      assert.equal(sim.delivered(KEY).length, 20);
      sim.reset();
      assert.equal((await send(sim, text('after reset'))).json.errcode, 0);
    } finally {
      await sim.close();
    }
  });

  it('counts only accepted messages', async () => {
    const sim = await startSimulator({ quiet: true, ratePerMinute: 2 });
    try {
      assert.equal((await send(sim, text(''))).json.errcode, 44004);
      sim.failNext(1);
      assert.equal((await send(sim, text('busy'))).json.errcode, -1);
      assert.equal((await send(sim, text('one'))).json.errcode, 0);
      assert.equal((await send(sim, text('two'))).json.errcode, 0);
      assert.equal((await send(sim, text('three'))).json.errcode, 45009);
    } finally {
      await sim.close();
    }
  });

  it('ratePerMinute 0 disables the limit', async () => {
    const sim = await startSimulator({ quiet: true, ratePerMinute: 0 });
    try {
      for (let i = 1; i <= 25; i++) assert.equal((await send(sim, text(`message ${i}`))).json.errcode, 0);
    } finally {
      await sim.close();
    }
  });

  it('rejects a ratePerMinute that is not a non-negative integer', async () => {
    await assert.rejects(startSimulator({ quiet: true, ratePerMinute: -1 }), RangeError);
  });

  it('frees a slot once the oldest message is 60 s old', () => {
    const window = new RollingWindow(2);
    window.record(KEY, 0);
    window.record(KEY, 30_000);
    assert.equal(window.isFull(KEY, 59_999), true);
    assert.equal(window.isFull(KEY, 60_000), false);
    window.record(KEY, 60_000);
    assert.equal(window.isFull(KEY, 60_001), true);
    assert.equal(window.isFull(OTHER_KEY, 60_001), false);
  });
});
