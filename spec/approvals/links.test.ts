import { describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { ApprovalLinks, LINK_TYPE } from '../../lib/approvals/links.js';
import { FirewallError } from '../../lib/errors.js';

const key = randomBytes(32);
const inAnHour = new Date(Date.now() + 3600_000).toISOString();
const tokenOf = (url: string) => new URL(url).hash.replace(/^#t=/, '');

async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FirewallError, 'expected a refusal');
  return err.code;
}

describe('ApprovalLinks', () => {
  it('issues a link to the approval page with the token in the fragment, and verifies it', async () => {
    const links = new ApprovalLinks(key, 'https://fw.example:8081', () => 15 * 60_000);
    const url = await links.issue('ap-1', 'alice', inAnHour);
    assert.match(url, /^https:\/\/fw\.example:8081\/console\/approvals\/ap-1#t=/);
    const token = tokenOf(url);
    assert.equal(decodeProtectedHeader(token).typ, LINK_TYPE);
    const who = await links.verify(token);
    assert.equal(who.sub, 'alice');
    assert.equal(who.approvalId, 'ap-1');
    assert.ok(who.jti.length > 10);
    assert.ok(Math.abs(who.expiresAt.getTime() - (Date.now() + 15 * 60_000)) < 5000);
  });

  it('never outlives the record it opens', async () => {
    const links = new ApprovalLinks(key, 'https://fw.example', () => 15 * 60_000);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const who = await links.verify(tokenOf(await links.issue('ap-1', 'alice', soon)));
    assert.ok(who.expiresAt.getTime() <= Date.parse(soon));
  });

  it('gives each link its own jti', async () => {
    const links = new ApprovalLinks(key, 'https://fw.example', () => 60_000);
    const a = await links.verify(tokenOf(await links.issue('ap-1', 'alice', inAnHour)));
    const b = await links.verify(tokenOf(await links.issue('ap-1', 'alice', inAnHour)));
    assert.notEqual(a.jti, b.jti);
  });

  it('refuses an expired link, one from another data directory, a tampered one and a plain admin JWT', async () => {
    const links = new ApprovalLinks(key, 'https://fw.example', () => 1000);
    const expired = tokenOf(await links.issue('ap-1', 'alice', inAnHour));
    const other = tokenOf(await new ApprovalLinks(randomBytes(32), 'https://fw.example', () => 60_000).issue('ap-1', 'alice', inAnHour));
    const good = tokenOf(await new ApprovalLinks(key, 'https://fw.example', () => 60_000).issue('ap-1', 'alice', inAnHour));
    const [h, p, s] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, apr: 'ap-2' })).toString('base64url')}.${s}`;
    // Signed with the raw token key instead of the derived link key: not a link.
    const underived = await new SignJWT({ apr: 'ap-1' }).setProtectedHeader({ alg: 'HS256', typ: LINK_TYPE }).setSubject('alice').setJti('x').setIssuedAt().setExpirationTime('5m').setIssuer('wecom-firewall').setAudience('wecom-firewall:approval-link').sign(key);
    // The expired link's 1 s is over two seconds later (the clock is moved, not waited for).
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      mock.timers.tick(2_100);
      for (const token of [expired, other, tampered, underived]) assert.equal(await refused(links.verify(token)), 'UNAUTHENTICATED');
    } finally {
      mock.timers.reset();
    }
  });
});
