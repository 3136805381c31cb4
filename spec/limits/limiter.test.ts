import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../lib/errors.js';
import { Limits } from '../../lib/limits/limiter.js';
import { parseRate } from '../../lib/config/units.js';

const robot = (name: string, limit: string) => ({ kind: 'robot' as const, name, limit: parseRate(limit) });
const to = (name: string) => ({ kind: 'robot' as const, name });

async function refusal(p: Promise<unknown>): Promise<FirewallError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FirewallError);
    return err;
  }
  assert.fail('not refused');
}

describe('Limits', () => {
  it('allows a robot its limit, then refuses with 429, 45009 and Retry-After', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '3/min')]);
    for (let i = 0; i < 3; i++) await limits.take(to('ops'), 'a');
    const err = await refusal(limits.take(to('ops'), 'a'));
    assert.equal(err.status, 429);
    assert.equal(err.errcode, 45009);
    const retry = Number(err.headers['Retry-After']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  });

  it('keeps robots apart', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, [robot('ops', '1/min'), robot('team', '1/min')]);
    await limits.take(to('ops'), 'a');
    await limits.take(to('team'), 'a');
    await refusal(limits.take(to('ops'), 'a'));
  });

  it('limits per caller and globally, and a refusal spends no tokens of the earlier buckets', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0, global: parseRate('3/min'), perCaller: parseRate('2/min') }, [robot('ops', '1/min'), robot('team', '10/min')]);
    await limits.take(to('ops'), 'a');
    // refused by the robot bucket: the global and caller tokens are given back
    await refusal(limits.take(to('ops'), 'a'));
    await refusal(limits.take(to('ops'), 'a'));
    await limits.take(to('team'), 'a');
    assert.equal((await refusal(limits.take(to('team'), 'a'))).message.includes('caller'), true);
    await limits.take(to('team'), 'b');
    assert.equal((await refusal(limits.take(to('team'), 'c'))).message.includes('global'), true);
  });

  it('with pacing, waits for a token up to the bound instead of refusing', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 3000 }, [robot('ops', '1/s')]);
    await limits.take(to('ops'), 'a');
    const started = Date.now();
    await limits.take(to('ops'), 'a');
    const waited = Date.now() - started;
    assert.ok(waited >= 200 && waited < 2500, `waited ${waited} ms`);
    const short = new Limits({ pacingMaxWaitMs: 100 }, [robot('ops', '1/min')]);
    await short.take(to('ops'), 'a');
    assert.equal((await refusal(short.take(to('ops'), 'a'))).status, 429);
  });

  it('fails closed for a robot it has no bucket for', async () => {
    const limits = new Limits({ pacingMaxWaitMs: 0 }, []);
    assert.equal((await refusal(limits.take(to('ghost'), 'a'))).status, 503);
  });
});
