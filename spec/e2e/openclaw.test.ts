import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';
import { startStack, type Stack } from '../helpers.js';

// The published OpenClaw WeCom app plugin (@openclaw-china/wecom-app), configured as
// examples/openclaw/wecom-app.openclaw.json says, sending through the firewall to the simulator.

interface SendResult {
  ok: boolean;
  errcode?: number;
}
interface WecomAppPlugin {
  sendWecomAppMessage(account: unknown, target: { userId: string }, text: string): Promise<SendResult>;
  clearAllAccessTokenCache(): void;
  wecomAppPlugin: {
    config: { resolveAccount(cfg: unknown): unknown };
    outbound: { sendText(args: { cfg: unknown; to: string; text: string }): Promise<{ ok: boolean; error?: Error }> };
  };
}

const PLUGIN = '@openclaw-china/wecom-app';

describe('OpenClaw @openclaw-china/wecom-app through the firewall', () => {
  let stack: Stack;
  let plugin: WecomAppPlugin;
  let cfg: { channels: { 'wecom-app': Record<string, unknown> } };

  before(async () => {
    stack = await startStack();
    plugin = (await import(PLUGIN)) as WecomAppPlugin;
    // The example the README points users to, with this run's firewall address and client secret.
    cfg = JSON.parse(readFileSync(join(packageRoot(), 'examples', 'openclaw', 'wecom-app.openclaw.json'), 'utf8')) as typeof cfg;
    Object.assign(cfg.channels['wecom-app'], { corpId: stack.app.corpId, agentId: stack.app.agentId, corpSecret: stack.app.clientSecret, apiBaseUrl: stack.server.url });
  });
  after(async () => {
    plugin.clearAllAccessTokenCache();
    delete process.env.WECOM_APP_API_BASE_URL;
    await stack.close();
  });

  it('sends to a user: the firewall swaps in the real token, which the simulator requires', async () => {
    const account = plugin.wecomAppPlugin.config.resolveAccount(cfg);
    const result = await plugin.sendWecomAppMessage(account, { userId: 'zhangsan' }, 'your laptop is ready for pickup');
    assert.equal(result.ok, true, JSON.stringify(result));
    const delivered = stack.sim.appMessages().filter((m) => m.errcode === 0);
    assert.equal(delivered.length, 1);
    assert.deepEqual(delivered[0]!.recipients, ['zhangsan']);
  });

  it('parks a send to @all: the plugin sees errcode 0, nothing reaches WeCom until an approver approves', async () => {
    const account = plugin.wecomAppPlugin.config.resolveAccount(cfg);
    const before = stack.sim.appMessages().length;
    const result = await plugin.sendWecomAppMessage(account, { userId: '@all' }, 'the whole company, please read');
    assert.equal(result.ok, true);
    assert.equal(stack.sim.appMessages().length, before);
    const pending = await stack.admin('GET', '/approvals', await stack.token('alice'));
    const parked = (pending.json.approvals as Array<{ id: string; payload: { touser: string } }>).find((a) => a.payload.touser === '@all');
    assert.ok(parked, 'the @all message waits for approval');
    const approved = await stack.admin('POST', `/approvals/${parked.id}/approve`, await stack.token('bob'));
    assert.equal(approved.status, 200, approved.text);
    assert.equal(stack.sim.appMessages().length, before + 1);
  });

  it('honours WECOM_APP_API_BASE_URL for a config without apiBaseUrl', async () => {
    plugin.clearAllAccessTokenCache();
    process.env.WECOM_APP_API_BASE_URL = stack.server.url;
    const { apiBaseUrl: _unused, ...rest } = cfg.channels['wecom-app'];
    void _unused;
    const before = stack.sim.appMessages().length;
    const result = await plugin.wecomAppPlugin.outbound.sendText({ cfg: { channels: { 'wecom-app': rest } }, to: 'user:lisi', text: 'via the environment' });
    assert.equal(result.ok, true, String(result.error));
    assert.equal(stack.sim.appMessages().length, before + 1);
  });

  it('fails with a wrong client secret, and WeCom is never asked', async () => {
    plugin.clearAllAccessTokenCache();
    const tokens = stack.sim.tokenRequests();
    const wrong = { channels: { 'wecom-app': { ...cfg.channels['wecom-app'], corpSecret: 'not-the-client-secret' } } };
    const account = plugin.wecomAppPlugin.config.resolveAccount(wrong);
    await assert.rejects(plugin.sendWecomAppMessage(account, { userId: 'zhangsan' }, 'hello'), /40001/);
    assert.equal(stack.sim.tokenRequests(), tokens);
  });
});
