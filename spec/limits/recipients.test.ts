import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../lib/errors.js';
import { RecipientLimits, recipientsOf } from '../../lib/limits/recipients.js';

describe('RecipientLimits', () => {
  it('refuses the 31st message to a member within a minute (WeCom would drop it silently), charging nobody', async () => {
    const limits = new RecipientLimits();
    for (let i = 0; i < 30; i++) await limits.take('helpdesk', ['alice']);
    await assert.rejects(limits.take('helpdesk', ['bob', 'alice']), (e: FirewallError) => e.status === 429 && e.errcode === 45009 && Number(e.headers['Retry-After']) >= 1);
    // bob was not charged by the refused message: he still has all 30
    for (let i = 0; i < 30; i++) await limits.take('helpdesk', ['bob']);
    await assert.rejects(limits.take('helpdesk', ['bob']));
    // another app's messages to alice are counted apart
    await limits.take('hr', ['alice']);
  });

  it('gives the tokens back when asked (a later bucket refused the message)', async () => {
    const limits = new RecipientLimits();
    for (let i = 0; i < 29; i++) await limits.take('helpdesk', ['carol']);
    const refund = await limits.take('helpdesk', ['carol']);
    await refund();
    await limits.take('helpdesk', ['carol']);
  });

  it('reads recipients from touser, and none from @all', () => {
    assert.deepEqual(recipientsOf({ touser: 'a|b| c |' }), ['a', 'b', 'c']);
    assert.deepEqual(recipientsOf({ touser: '@all' }), []);
    assert.deepEqual(recipientsOf({ toparty: '1' }), []);
  });
});
