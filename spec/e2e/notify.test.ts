import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, tempDir, text, until, type Stack } from '../helpers.js';

// A parked request posts a card to the approvers' robot; each approver's link opens that approval
// (GET never decides), decides it once, and reaches nothing else.

const PUBLIC_URL = 'https://firewall.example.com:8443';
const POLICY = `rules:
  - name: release-two
    description: releases need two approvers
    match: { robots: [ops] }
    condition: { properties: { text: { properties: { content: { pattern: "^release" } } } } }
    action: approve
    approval: { approvers: [alice, bob, carol], required: 2, ttl: 10m }
    reason: releases need two approvers
  - name: single-three
    description: one of three decides
    match: { robots: [ops] }
    condition: { properties: { text: { properties: { content: { pattern: "^single" } } } } }
    action: approve
    approval: { approvers: [alice, bob, carol], required: 1, ttl: 10m }
    reason: one of three decides
  - name: mass-mention
    description: the whole group needs one approver
    match: { robots: [ops] }
    condition: { properties: { text: { properties: { mentioned_list: { contains: { const: "@all" } } }, required: [mentioned_list] } } }
    action: approve
    reason: mentions everyone
default: { action: allow, reason: nothing objected }
`;

interface Card {
  content: string;
  links: Map<string, string>;
}

async function stackWithNotify(linkTtl = '15m'): Promise<Stack> {
  const dir = tempDir();
  writeFileSync(join(dir, 'rules.yaml'), POLICY);
  return startStack({
    policies: [dir],
    robots: { approvers: { key: 'set by startStack' } },
    admin: { listen: '127.0.0.1:0', jwtSecret: '${env:SPEC_ADMIN_SECRET}', publicUrl: PUBLIC_URL },
    approvals: { approvers: ['alice', 'bob'], notify: { robot: 'approvers', linkTtl } },
  });
}

/** The card posted for an approval, with each approver's link rebased onto the real admin listener. */
async function cardFor(stack: Stack, approvalId: string, withLinks = true): Promise<Card> {
  // The card is posted after the 202: wait for it.
  const found = await until(`the card for ${approvalId}`, () =>
    stack.sim.delivered(stack.keys.approvers).map((m) => (m.body as { markdown?: { content: string } }).markdown?.content ?? '').find((c) => c.includes(approvalId) && (!withLinks || c.includes('#t='))),
  );
  const links = new Map<string, string>();
  for (const [, sub, url] of found.matchAll(/\[([^\]]+)\]\((https:[^)]+#t=[^)]+)\)/g)) links.set(sub!, url!.replace(PUBLIC_URL, stack.server.adminUrl!));
  return { content: found, links };
}

const tokenOf = (link: string) => new URL(link).hash.slice('#t='.length);
const statusOf = async (stack: Stack, id: string) => ((await stack.admin('GET', `/approvals/${id}`, await stack.token('alice'))).json.approval as { status: string }).status;

describe('approval notifications in WeCom', () => {
  let stack: Stack;
  before(async () => {
    stack = await stackWithNotify();
  });
  after(() => stack.close());

  it('posts a markdown card with who, what, rule, why, expiry, a masked preview and one link per approver', async () => {
    const key = randomUUID();
    const parked = await stack.send('ops', text(`single 2.0, deploy key ${key}`));
    assert.equal(parked.status, 202);
    const id = parked.json.approval_id as string;
    const card = await cardFor(stack, id);
    for (const part of ['127.0.0.1', 'robot ops', 'single-three', 'one of three decides', '1 of 3']) assert.ok(card.content.includes(part), part);
    assert.ok(!card.content.includes(key), 'the preview masks key-like strings');
    assert.deepEqual([...card.links.keys()].sort(), ['alice', 'bob', 'carol']);
    for (const url of card.links.values()) assert.ok(url.includes(`/console/approvals/${id}#t=`));
    assert.equal(stack.sim.received(stack.keys.ops).length, 0, 'nothing reached the target robot');
  });

  it('opening a link (GET, as a link preview does) shows the page and decides nothing', async () => {
    const id = (await stack.send('ops', text('single 2.1'))).json.approval_id as string;
    const link = (await cardFor(stack, id)).links.get('alice')!;
    for (let i = 0; i < 3; i++) {
      const page = await fetch(link);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    }
    const read = await stack.admin('GET', `/approvals/${id}`, tokenOf(link));
    assert.equal(read.status, 200);
    assert.equal(await statusOf(stack, id), 'pending');
    assert.equal(stack.sim.received(stack.keys.ops).length, 0);
    const me = await stack.admin('GET', '/me', tokenOf(link));
    assert.deepEqual([me.json.sub, me.json.via, me.json.approval_id], ['alice', 'link', id]);
  });

  it('a link decides its approval once and sends it once; a reused link is refused', async () => {
    const id = (await stack.send('ops', text('single 2.2'))).json.approval_id as string;
    const card = await cardFor(stack, id);
    const alice = tokenOf(card.links.get('alice')!);
    const first = await stack.admin('POST', `/approvals/${id}/approve`, alice, { comment: 'ok from the chat' });
    assert.equal(first.status, 200);
    const decided = first.json.approval as { status: string; decisions: Array<{ who: string; via?: string; comment?: string }> };
    assert.equal(decided.status, 'sent');
    assert.deepEqual(decided.decisions.map((d) => [d.who, d.via, d.comment]), [['alice', 'link', 'ok from the chat']]);
    const reused = await stack.admin('POST', `/approvals/${id}/approve`, alice);
    assert.deepEqual([reused.status, reused.json.errcode], [401, 9900010]);
    assert.equal(stack.sim.delivered(stack.keys.ops).filter((m) => m.raw.includes('single 2.2')).length, 1);
  });

  it('gives a record that needs two approvals no personal links (regression: one card reader could cast every vote)', async () => {
    const id = (await stack.send('ops', text('release 2.2'))).json.approval_id as string;
    const card = await cardFor(stack, id, false);
    assert.equal(card.links.size, 0);
    assert.ok(card.content.includes(`${PUBLIC_URL}/console/approvals/${id})`));
    assert.ok(card.content.includes('2 of 3'));
  });

  it('a link reaches only its own approval: not the queue, not another record', async () => {
    const a = (await stack.send('ops', text('single 2.3'))).json.approval_id as string;
    const b = (await stack.send('ops', text('single 2.4'))).json.approval_id as string;
    const link = tokenOf((await cardFor(stack, a)).links.get('bob')!);
    assert.deepEqual([(await stack.admin('GET', '/approvals', link)).status, (await stack.admin('GET', `/approvals/${b}`, link)).status], [403, 403]);
    const other = await stack.admin('POST', `/approvals/${b}/reject`, link);
    assert.deepEqual([other.status, other.json.errcode], [403, 9900011]);
    assert.equal(await statusOf(stack, b), 'pending');
    // A link is still usable for its own record after those refusals.
    assert.equal((await stack.admin('POST', `/approvals/${a}/reject`, link)).status, 200);
    assert.equal(await statusOf(stack, a), 'rejected');
  });

  it('a card that cannot be posted is audited and logged; the request is still parked and listed', async () => {
    stack.sim.failNext(3, -1, '/cgi-bin/webhook/send'); // -1 is retried twice
    const parked = await stack.send('ops', text('all hands', { mentioned_list: ['@all'] }));
    assert.equal(parked.status, 202);
    const id = parked.json.approval_id as string;
    const listed = await stack.admin('GET', '/approvals', await stack.token('alice'));
    assert.ok((listed.json.approvals as Array<{ id: string }>).some((a) => a.id === id));
    const dir = join(stack.dataDir, 'audit');
    const auditLines = () => readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
    await until('the notify_failed audit record', () => auditLines().some((l) => l.includes('notify_failed') && l.includes(id)));
  });
});

describe('approval links expire', () => {
  let stack: Stack;
  before(async () => {
    stack = await stackWithNotify('1s');
  });
  after(() => stack.close());

  it('an expired link is refused with 401 and the record stays pending', async () => {
    const id = (await stack.send('ops', text('single 3.0'))).json.approval_id as string;
    const link = tokenOf((await cardFor(stack, id)).links.get('alice')!);
    await new Promise((r) => setTimeout(r, 2100));
    const late = await stack.admin('POST', `/approvals/${id}/approve`, link);
    assert.deepEqual([late.status, late.json.errcode], [401, 9900010]);
    assert.equal(await statusOf(stack, id), 'pending');
  });
});
