import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Simulator } from '../../lib/simulator/index.js';
import { spawnCli, until } from '../helpers.js';
import { BOT, RawBot } from './bot-helpers.js';

// `wecom-firewall simulator --bot ID:SECRET`: the bots a simulator run from the CLI accepts.

describe('simulator CLI --bot', () => {
  it('accepts the bot it was given, and prints its id but never its secret', async () => {
    const cli = spawnCli(['simulator', '--port', '0', '--bot', `${BOT.botId}:${BOT.secret}`]);
    try {
      const url = (await until('the simulator to listen', () => /"url":"([^"]+)"/.exec(cli.output())))[1]!;
      const sim = { url } as Simulator; // RawBot needs only the address
      const ok = await RawBot.subscribed(sim);
      ok.close();
      const wrong = await RawBot.open(sim);
      assert.equal((await wrong.request('aibot_subscribe', { bot_id: BOT.botId, secret: 'guess' })).errcode, 40001);
      assert.match(cli.output(), new RegExp(BOT.botId));
      assert.ok(!cli.output().includes(BOT.secret));
    } finally {
      cli.proc.kill('SIGTERM');
      await cli.exited;
    }
  });

  it('exits 2 on a --bot without a secret', async () => {
    const cli = spawnCli(['simulator', '--port', '0', '--bot', BOT.botId]);
    assert.equal(await cli.exited, 2);
    assert.match(cli.output(), /--bot takes BOTID:SECRET/);
  });
});
