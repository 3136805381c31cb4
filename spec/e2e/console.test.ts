import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot, shippedPoliciesDir } from '../../lib/paths.js';
import { md5, tinyPng } from '../fixtures/images.js';
import { answerOf, startStack, tempDir, text, until, type Answer, type Stack } from '../helpers.js';

// The approvals console in a real browser (Chromium or Chrome driven by playwright-core) against the
// real firewall and the WeCom simulator: sign in, queue, detail, approve, reject, a notification
// link (opening it never decides; it decides once), and a hostile payload that must stay inert.
//
// The browser: CHROMIUM_PATH, else /usr/bin/chromium, else chromium-browser or google-chrome on
// PATH. With none, the browser specs are skipped with a notice, unless CI is set: there a missing
// browser fails the run (a CI that silently skips the console is not testing it). A CHROMIUM_PATH
// that names nothing runnable always fails: it is a mistake, not an absent browser.

const SHOTS = join(packageRoot(), 'dist', 'screenshots');
const PUBLIC_URL = 'https://firewall.example.com:8443';

// After the shipped packs (contract and credential checks first): everything to robot "team" is
// parked, and "two:" messages need two approvers.
const POLICY = `rules:
  - name: console-spec.two-approvers
    description: needs two approvers
    match: { robots: [team] }
    condition: { required: [text], properties: { text: { properties: { content: { pattern: "^two:" } } } } }
    action: approve
    approval: { approvers: [alice, bob], required: 2, ttl: 10m }
    reason: two people look at these
  - name: console-spec.review-team
    description: a human reviews everything posted to the team group
    match: { robots: [team] }
    action: approve
    reason: the team group is reviewed by a human
`;

interface View {
  id: string;
  status: string;
  may_decide: boolean;
  decisions: Array<{ who: string; verdict: string; comment?: string }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ci = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);

function runnable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findBrowser(): { path?: string; problem?: string } {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) return runnable(chosen) ? { path: chosen } : { problem: `CHROMIUM_PATH=${chosen} is not an executable file` };
  const onPath = (name: string) => (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(runnable);
  const found = ['/usr/bin/chromium'].find(runnable) ?? onPath('chromium-browser') ?? onPath('google-chrome');
  return found ? { path: found } : { problem: 'no browser for the console spec: set CHROMIUM_PATH, or install chromium (apt-get install chromium), chromium-browser or google-chrome' };
}

const browserFound = findBrowser();
// Skipped, not failed, only when nothing asked for a browser: none here, no CHROMIUM_PATH, no CI.
const skipBrowser = browserFound.path || ci || process.env.CHROMIUM_PATH ? undefined : `${browserFound.problem} (with CI set, this fails)`;

describe('approvals console (real browser)', { skip: skipBrowser }, () => {
  let stack: Stack;
  let browser: Browser;
  let admin: string;
  const pageErrors: string[] = [];
  const external: string[] = [];

  before(async () => {
    const executablePath = browserFound.path;
    if (!executablePath) throw new Error(browserFound.problem);
    try {
      browser = await chromium.launch({
        executablePath,
        args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
    } catch (err) {
      throw new Error(`could not start the browser at ${executablePath} (set CHROMIUM_PATH, or apt-get install chromium): ${(err as Error).message}`);
    }
    const dir = tempDir();
    writeFileSync(join(dir, 'console-spec.yaml'), POLICY);
    stack = await startStack({
      policies: [shippedPoliciesDir(), dir],
      robots: { approvers: { key: 'set by startStack' } },
      admin: { listen: '127.0.0.1:0', jwtSecret: '${env:SPEC_ADMIN_SECRET}', publicUrl: PUBLIC_URL },
      approvals: { approvers: ['alice', 'bob'], notify: { robot: 'approvers', linkTtl: '15m' } },
    });
    admin = stack.server.adminUrl!;
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A fresh browser context (its own sessionStorage) at 1280×900 that fails the spec on any dialog. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('dialog', (d) => {
      pageErrors.push(`dialog ${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (err) => pageErrors.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`csp: ${m.text()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(admin) && !r.url().startsWith('data:')) external.push(r.url());
    });
    return page;
  }

  async function signIn(page: Page, sub: string): Promise<void> {
    await page.goto(`${admin}/`);
    await page.fill('#token-input', await stack.token(sub));
    await page.click('#sign-in');
    await page.waitForSelector(`#identity-jwt[data-sub="${sub}"]`);
  }

  async function park(alias: string, body: unknown): Promise<string> {
    const a = await stack.send(alias, body);
    assert.equal(a.status, 202, a.text);
    return a.json.approval_id as string;
  }

  async function record(id: string): Promise<View> {
    const a = await stack.admin('GET', `/approvals/${id}`, await stack.token('alice'));
    assert.equal(a.status, 200, a.text);
    return a.json.approval as View;
  }

  /** The notification card posted for `id` (after its 202) that contains `needle`. */
  const card = (id: string, needle: string) =>
    until(`the notification card for ${id}`, () =>
      stack.sim
        .delivered(stack.keys.approvers)
        .map((m) => (m.body as { markdown?: { content?: string } }).markdown?.content ?? '')
        .find((c) => c.includes(needle)),
    );

  const cardText = (id: string): Promise<string> => card(id, id);

  /** The approvers' links from the card the firewall posted for `id`, rebased onto the admin listener. */
  async function linksFor(id: string): Promise<Map<string, string>> {
    const links = new Map<string, string>();
    for (const [, sub, url] of (await card(id, `/console/approvals/${id}#t=`)).matchAll(/\[([^\]]+)\]\((https?:[^)\s]+#t=[^)\s]+)\)/g)) links.set(sub!, url!.replace(PUBLIC_URL, admin));
    return links;
  }

  const deliveredWith = (key: string, needle: string) => stack.sim.received(key).filter((m) => m.raw.includes(needle));

  /** Saves a full-page screenshot, after checking that no stray "null"/"undefined" leaked into the page's text. */
  async function shot(page: Page, name: string): Promise<void> {
    const stray = await page.evaluate(() => {
      const main = document.getElementById('main')!.cloneNode(true) as HTMLElement;
      for (const pre of main.querySelectorAll('pre')) pre.remove();
      return /\b(null|undefined|NaN)\b|\[object Object\]/.exec(main.textContent ?? '')?.[0] ?? null;
    });
    assert.equal(stray, null, `the ${name} page shows a stray value`);
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  it('signs in with a JWT, shows a parked @all message in the queue and as WeCom would, approves it once with a comment', async () => {
    const tag = randomUUID().slice(0, 8);
    const content = `Deploy ${tag} finished: all 12 services healthy.\nRollback plan in the runbook.`;
    const id = await park('ops', text(content, { mentioned_list: ['@all', 'zhangsan'], mentioned_mobile_list: ['13800001111'] }));
    await park('team', { msgtype: 'markdown', markdown: { content: `## Weekly report ${tag}\n**Tickets closed:** <font color="info">42</font>` } });

    const page = await newPage();
    await page.goto(`${admin}/`);
    assert.ok(page.url().endsWith('/console/'), page.url());
    await page.fill('#token-input', await stack.token('alice', { secret: 'not-the-secret-0123456789abcdef0123456789' }));
    await page.click('#sign-in');
    await page.waitForSelector('#sign-in-result .api-error[data-status="401"][data-errcode="9900010"]');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
    await page.fill('#token-input', await stack.token('alice'));
    await page.click('#sign-in');
    await page.waitForSelector(`#identity-jwt[data-sub="alice"]`);
    await page.waitForSelector(`tr[data-id="${id}"]`);
    const stored = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }));
    assert.deepEqual(stored, { session: 1, local: 0 }, 'the sign-in token is kept in sessionStorage only');
    assert.match(await page.textContent(`tr[data-id="${id}"]`) ?? '', new RegExp(`Deploy ${tag}`));
    assert.equal(await page.locator(`tr[data-id="${id}"] .flag-danger`).count(), 1, '@all flagged in the queue');
    await shot(page, 'queue');

    await page.click(`tr[data-id="${id}"] .summary`);
    await page.waitForSelector('#status-badge[data-status="pending"]');
    assert.ok(page.url().endsWith(`/console/approvals/${id}`));
    const rendered = (await page.textContent('#render')) ?? '';
    assert.ok(rendered.includes(`Deploy ${tag} finished`), rendered);
    assert.equal(await page.locator('#render #mentions-all').count(), 1, 'the @all mention is flagged');
    assert.ok((await page.locator('#render .mention-all').count()) >= 1);
    assert.equal(await page.locator('#rule').textContent(), 'guard.mass-mention');

    await page.fill('#comment', `checked ${tag}, fine to page everyone`);
    await page.click('#approve');
    await page.waitForSelector('#status-badge[data-status="sent"]');
    await page.waitForSelector('#decision-result[data-status="sent"]');
    assert.equal((await page.textContent('#upstream')) ?.includes('accepted'), true);
    assert.equal(deliveredWith(stack.keys.ops!, `Deploy ${tag}`).length, 1, 'sent exactly once');
    const after = await record(id);
    assert.equal(after.status, 'sent');
    assert.deepEqual(after.decisions.map((d) => [d.who, d.verdict, d.comment]), [['alice', 'approve', `checked ${tag}, fine to page everyone`]]);
    assert.equal(await page.locator(`#decisions li[data-who="alice"][data-verdict="approve"]`).count(), 1);
    await shot(page, 'detail-sent');

    await page.click('#sign-out');
    await page.waitForSelector('#sign-in-form');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'sign out clears the token');
    await page.context().close();
  });

  it('draws markdown, markdown_v2, template cards and an app @all send as WeCom would', async () => {
    const tag = randomUUID().slice(0, 8);
    const md = [
      `# Release ${tag} is ready`,
      '### What changed',
      '**Checkout** is 30% faster; <font color="info">all tests green</font>, <font color="warning">2 flaky</font>, <font color="comment">1 skipped</font>.',
      '> Rollout starts 14:00 CST',
      '> Owner: <@zhangsan>',
      'Notes: [release notes](https://wiki.example.com/releases/2.4) · run `make deploy`',
      '',
      'Questions to <@lisi> please.',
    ].join('\n');
    const mdId = await park('team', { msgtype: 'markdown', markdown: { content: md } });
    const v2Id = await park('team', {
      msgtype: 'markdown_v2',
      markdown_v2: { content: `## Status ${tag}\n- api: *ok*\n- jobs:\n  - mail: ok\n  - billing: **slow**\n1. first\n2. second\n\n| service | p99 |\n| :-- | --: |\n| api | 120 ms |\n\n\`\`\`sh\nkubectl rollout status deploy/api\n\`\`\`\n---\nend` },
    });
    const cardId = await park('team', {
      msgtype: 'template_card',
      template_card: {
        card_type: 'text_notice',
        source: { icon_url: 'https://img.example.com/icon.png', desc: 'Ops alerts', desc_color: 2 },
        main_title: { title: `Disk usage 91% on db-3 (${tag})`, desc: 'production · cn-shanghai' },
        emphasis_content: { title: '91%', desc: 'of 2 TB used' },
        quote_area: { type: 1, url: 'https://grafana.example.com/d/disk', title: 'Trend', quote_text: 'Grew 6% in the last hour.\nLargest table: events' },
        sub_title_text: 'The runbook says to page the DBA on call.',
        horizontal_content_list: [
          { keyname: 'Host', value: 'db-3' },
          { keyname: 'Runbook', value: 'disk-full', type: 1, url: 'https://wiki.example.com/runbooks/disk-full' },
          { keyname: 'On call', value: 'zhangsan', type: 3, userid: 'zhangsan' },
        ],
        vertical_content_list: [{ title: 'Next step', desc: 'Archive events older than 90 days' }],
        jump_list: [{ type: 1, url: 'https://grafana.example.com/d/disk', title: 'Dashboard' }],
        card_action: { type: 1, url: 'https://alerts.example.com/incident/4711' },
      },
    });

    const page = await newPage();
    await signIn(page, 'bob');

    await page.goto(`${admin}/console/approvals/${mdId}`);
    await page.waitForSelector('#render .md');
    assert.equal(await page.locator('#render .md-h1').textContent(), `Release ${tag} is ready`);
    assert.equal(await page.locator('#render .md strong').first().textContent(), 'Checkout');
    assert.equal(await page.locator('#render .font-info').textContent(), 'all tests green');
    assert.equal(await page.locator('#render .font-warning').count(), 1);
    assert.equal(await page.locator('#render blockquote.md-quote').count(), 1);
    assert.equal(await page.locator('#render .md-code').textContent(), 'make deploy');
    const link = page.locator('#render a.ext');
    assert.equal(await link.getAttribute('href'), 'https://wiki.example.com/releases/2.4');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.ok(((await page.textContent('#render')) ?? '').includes('https://wiki.example.com/releases/2.4'), 'the real URL is visible');
    assert.deepEqual(await page.locator('#render .mention').allTextContents(), ['@zhangsan', '@lisi']);
    await page.click('#raw-toggle');
    assert.ok(((await page.textContent('#raw-json')) ?? '').includes('"msgtype": "markdown"'));
    await page.click('#raw-toggle');
    await shot(page, 'detail-markdown');

    await page.goto(`${admin}/console/approvals/${v2Id}`);
    await page.waitForSelector('#render .md-v2');
    assert.equal(await page.locator('#render .md-table td').first().textContent(), 'api');
    assert.equal(await page.locator('#render ul.md-list ul.md-list li').count(), 2, 'nested list');
    assert.equal(await page.locator('#render ol.md-list li').count(), 2);
    assert.equal(await page.locator('#render .md-pre code').textContent(), 'kubectl rollout status deploy/api');
    assert.equal(await page.locator('#render em').textContent(), 'ok');
    assert.equal(await page.locator('#render hr').count(), 1);

    await page.goto(`${admin}/console/approvals/${cardId}`);
    await page.waitForSelector('#template-card');
    assert.equal(await page.locator('#template-card .tcard-title').textContent(), `Disk usage 91% on db-3 (${tag})`);
    assert.equal(await page.locator('#template-card .tcard-emph-title').textContent(), '91%');
    assert.ok(((await page.textContent('#template-card .tcard-quote')) ?? '').includes('Grew 6% in the last hour.'));
    assert.deepEqual(await page.locator('#template-card .tcard-hlist dt').allTextContents(), ['Host', 'Runbook', 'On call']);
    assert.equal(await page.locator('#template-card .tcard-hlist a.ext').getAttribute('href'), 'https://wiki.example.com/runbooks/disk-full');
    assert.ok(((await page.textContent('#template-card .tcard-action')) ?? '').includes('https://alerts.example.com/incident/4711'));
    assert.equal(await page.locator('#template-card img').count(), 0, 'remote pictures are not loaded');
    assert.ok(((await page.textContent('#template-card')) ?? '').includes('https://img.example.com/icon.png'), 'the icon URL is shown as text');
    await shot(page, 'detail-template-card');

    // An app message to every member: parked by 25-app-guardrails, with the recipients flagged.
    const got = await answerOf(await fetch(`${stack.server.url}/cgi-bin/gettoken?corpid=${stack.app.corpId}&corpsecret=${stack.app.clientSecret}`));
    const sent: Answer = await answerOf(
      await fetch(`${stack.server.url}/cgi-bin/message/send?access_token=${got.json.access_token as string}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ touser: '@all', msgtype: 'textcard', agentid: stack.app.agentId, textcard: { title: `Office closed ${tag}`, description: '<div class="gray">Friday</div><div class="highlight">Work from home</div>', url: 'https://intranet.example.com/notice', btntxt: 'More' } }),
      }),
    );
    assert.equal(sent.status, 202, sent.text);
    await page.goto(`${admin}/console/approvals/${sent.json.approval_id as string}`);
    await page.waitForSelector('#recipients');
    assert.equal(await page.locator('#to-all').count(), 1, 'touser @all is flagged');
    assert.equal(await page.locator('#render .tc-highlight').textContent(), 'Work from home');
    await shot(page, 'detail-app-all');
    await page.context().close();
  });

  it('draws an image and a file upload, and shows WeCom\'s refusal when an approved message fails', async () => {
    const tag = randomUUID().slice(0, 8);
    const png = tinyPng();
    const imageId = await park('team', { msgtype: 'image', image: { base64: png.toString('base64'), md5: md5(png) } });
    const form = new FormData();
    form.append('media', new Blob([Buffer.from(`quarterly numbers ${tag}\n`)], { type: 'text/plain' }), 'report.txt');
    const up = await answerOf(await fetch(`${stack.server.url}/cgi-bin/webhook/upload_media?key=team&type=file`, { method: 'POST', body: form }));
    assert.equal(up.status, 202, up.text);
    const uploadId = up.json.approval_id as string;
    const failingId = await park('team', text(`this one WeCom refuses ${tag}`));
    await linksFor(failingId); // its card is posted first, so the fault below meets the approved message

    const page = await newPage();
    await signIn(page, 'alice');
    await page.goto(`${admin}/console/approvals/${imageId}`);
    await page.waitForSelector('#render img.payload-img');
    const img = await page.evaluate(() => {
      const el = document.querySelector<HTMLImageElement>('#render img.payload-img')!;
      return { src: el.src.slice(0, 22), width: el.naturalWidth };
    });
    assert.deepEqual(img, { src: 'data:image/png;base64,', width: 1 }, 'the base64 image is drawn from a data: URL');

    await page.goto(`${admin}/console/approvals/${uploadId}`);
    await page.waitForSelector('#render #upload');
    const sha = (await record(uploadId) as unknown as { sha256: string }).sha256;
    assert.ok(((await page.textContent('#render #upload')) ?? '').includes(sha), 'an upload is shown by size and SHA-256');

    stack.sim.failNext(1, 93004, '/cgi-bin/webhook/send'); // robot disabled: final, not retried
    await page.goto(`${admin}/console/approvals/${failingId}`);
    await page.click('#approve');
    await page.waitForSelector('#status-badge[data-status="failed"]');
    await page.waitForSelector('#decision-result .api-error[data-status="502"][data-errcode="-1"]');
    await page.waitForSelector('#upstream[data-ok="false"]');
    await shot(page, 'detail-failed');
    assert.equal((await record(failingId)).status, 'failed');
    await page.context().close();
  });

  it('rejects through the console: the record is rejected and nothing reaches WeCom', async () => {
    const tag = randomUUID().slice(0, 8);
    const id = await park('ops', text(`Everyone: lunch ${tag} is on me`, { mentioned_list: ['@all'] }));
    const page = await newPage();
    await signIn(page, 'bob');
    await page.goto(`${admin}/console/approvals/${id}`);
    await page.waitForSelector('#status-badge[data-status="pending"]');
    await page.fill('#comment', 'not a reason to page the whole group');
    await page.click('#reject');
    await page.waitForSelector('#status-badge[data-status="rejected"]');
    await page.waitForSelector('#decide-off');
    const r = await record(id);
    assert.equal(r.status, 'rejected');
    assert.deepEqual(r.decisions.map((d) => [d.who, d.verdict]), [['bob', 'reject']]);
    await sleep(100);
    assert.equal(deliveredWith(stack.keys.ops!, tag).length, 0, 'nothing reached the simulator');

    // The history finds it with the rejected filter.
    await page.goto(`${admin}/console/?view=history`);
    await page.selectOption('#f-status', 'rejected');
    await page.fill('#f-robot', 'ops');
    await page.click('#f-apply');
    await page.waitForSelector(`tr[data-id="${id}"][data-status="rejected"]`);
    assert.ok(page.url().includes('status=rejected'));
    await shot(page, 'history');

    // Paging: two at a time, "Older" appends the next page.
    await page.goto(`${admin}/console/?view=history&status=all&limit=2`);
    await page.waitForSelector('#approvals-table tbody tr');
    assert.equal(await page.locator('#approvals-table tbody tr').count(), 2);
    await page.click('#older');
    await page.waitForFunction(() => document.querySelectorAll('#approvals-table tbody tr').length === 4);
    const ids = await page.locator('#approvals-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id));
    assert.equal(new Set(ids).size, 4, 'no record twice');
    await page.context().close();
  });

  it('opens a notification link without deciding, decides once with it, and refuses the used link', async () => {
    const tag = randomUUID().slice(0, 8);
    const id = await park('team', text(`rotate the staging database password ${tag}`));
    const other = await park('team', text(`something else ${tag}`));
    const twoOf = await park('team', text(`two: needs two approvers ${tag}`));
    const links = await linksFor(id);
    const alice = links.get('alice')!;
    const bob = links.get('bob')!;
    assert.ok(alice && bob, `links for alice and bob: ${[...links.keys()].join(', ')}`);
    const aliceToken = new URL(alice).hash.slice('#t='.length);
    const bobToken = new URL(bob).hash.slice('#t='.length);
    // Regression (card links let one reader cast every vote): a record needing two approvals gets
    // no personal links, only the console, where each approver signs in.
    const twoCard = await cardText(twoOf);
    assert.ok(!twoCard.includes('#t='), 'no personal links on a two-approver card');
    assert.ok(twoCard.includes(`/console/approvals/${twoOf})`));

    // Fetching the link (as a link-preview bot would) gets the static page and decides nothing.
    const fetched = await fetch(alice);
    assert.equal(fetched.status, 200);
    assert.match(fetched.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(await fetched.text(), /rotate the staging/, 'the page holds no data');
    const read = await stack.admin('GET', `/approvals/${id}`, aliceToken);
    assert.equal(read.status, 200);
    assert.equal((read.json.approval as View).status, 'pending');
    assert.equal((await stack.admin('GET', `/approvals/${other}`, aliceToken)).status, 403, 'a link reaches only its own approval');
    assert.equal((await stack.admin('GET', '/approvals', aliceToken)).status, 403);

    let page = await newPage();
    await page.goto(alice);
    await page.waitForSelector('#identity-link[data-sub="alice"]');
    await page.waitForSelector('#status-badge[data-status="pending"]');
    assert.ok(!page.url().includes('#'), `the token is removed from the address bar: ${page.url()}`);
    const storages = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie);
    assert.ok(!storages.includes(aliceToken), 'the link token is kept in memory only');
    assert.equal((await record(id)).status, 'pending', 'opening the link decided nothing');
    assert.equal(await page.locator('#approve').count(), 1);
    await shot(page, 'link');

    await page.fill('#comment', 'ok from alice');
    await page.click('#approve');
    await page.waitForSelector('#status-badge[data-status="sent"]');
    assert.equal(deliveredWith(stack.keys.team!, tag).length, 1, 'sent exactly once');
    const done = await record(id);
    assert.deepEqual(done.decisions.map((d) => [d.who, d.verdict, d.comment ?? null]), [['alice', 'approve', 'ok from alice']]);

    // The same link again: it still reads, but cannot decide.
    const again = await answerOf(await fetch(`${admin}/approvals/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' }, body: '{}' }));
    assert.deepEqual([again.status, again.json.errcode], [401, 9900010]);
    const page2 = await newPage();
    await page2.goto(alice);
    await page2.waitForSelector('#decide-off');
    assert.equal(await page2.locator('#approve').count(), 0, 'no buttons once decided');
    // A link only opens its own approval: the queue needs a sign-in.
    await page2.click('#nav-queue');
    await page2.waitForSelector('#sign-in-form');
    await page2.context().close();

    // Bob's link on the decided record: no second send.
    const late = await stack.admin('POST', `/approvals/${id}/approve`, bobToken, {});
    assert.deepEqual([late.status, late.json.errcode], [409, 9900013]);
    assert.equal(deliveredWith(stack.keys.team!, tag).length, 1, 'still sent exactly once');
    await page.context().close();
    page = await newPage();

    // A forged or expired link: the refusal is shown with its errcode, and a sign-in form instead.
    await page.goto(`${admin}/console/approvals/${id}#t=eyJhbGciOiJIUzI1NiIsInR5cCI6IndmLWFwcHJvdmFsLWxpbmsifQ.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl`);
    await page.waitForSelector('.api-error[data-status="401"][data-errcode="9900010"]');
    await page.waitForSelector('#sign-in-form');
    assert.ok(!page.url().includes('#'));
    await page.context().close();
  });

  it('renders a hostile payload as inert text: no script, no image, no javascript: link, no dialog, no outside request', async () => {
    const tag = randomUUID().slice(0, 8);
    const hostile = [
      `# Hi ${tag} <script>window.__pwned = 1; alert(1)</script>`,
      '<img src=x onerror="window.__pwned = 2; alert(2)">',
      '[click me](javascript:alert(3)) and [data](data:text/html,<script>alert(4)</script>)',
      '**bold <img src=x onerror=alert(5)>** <font color="info" onmouseover="alert(6)">hover</font>',
      '<iframe src="javascript:alert(7)"></iframe><svg onload=alert(8)>',
      '[https://bank.example.com](https://evil.example.net/login)',
      '<@all>',
    ].join('\n');
    const mdId = await park('team', { msgtype: 'markdown', markdown: { content: hostile } });
    const newsId = await park('team', {
      msgtype: 'news',
      news: { articles: [{ title: `<img src=x onerror=alert(9)> ${tag}`, description: '<script>alert(10)</script>', url: 'javascript:alert(11)', picurl: 'https://tracker.example.net/pixel.png' }] },
    });
    const v2Id = await park('team', { msgtype: 'markdown_v2', markdown_v2: { content: `![x](javascript:alert(12)) ![pic](https://tracker.example.net/p2.png) ${tag}\n| <b>a</b> | b |\n| --- | --- |\n| <img src=x onerror=alert(13)> | c |` } });

    const page = await newPage();
    await signIn(page, 'alice');
    for (const id of [mdId, newsId, v2Id]) {
      await page.goto(`${admin}/console/approvals/${id}`);
      await page.waitForSelector('#render');
      await page.locator('#render').hover();
      await page.click('#raw-toggle');
      const dom = await page.evaluate(() => ({
        scripts: [...document.scripts].map((s) => s.src),
        images: document.querySelectorAll('#render img, #render iframe, #render svg, #render object, #render embed').length,
        onAttrs: [...document.querySelectorAll('#main *')].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
        badHrefs: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href') ?? '').filter((href) => !/^(https?:\/\/|\/console\/)/i.test(href)),
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
        text: document.getElementById('render')?.textContent ?? '',
      }));
      assert.deepEqual(dom.scripts, [`${admin}/console/console.js`], 'only the console script');
      assert.equal(dom.images, 0, 'no element from the payload');
      assert.deepEqual(dom.onAttrs, []);
      assert.deepEqual(dom.badHrefs, [], 'no javascript:/data: link');
      assert.equal(dom.pwned, null);
      assert.ok(dom.text.includes(tag));
      if (id === mdId) {
        assert.ok(dom.text.includes('<script>window.__pwned = 1; alert(1)</script>'), 'the markup is shown as text');
        assert.ok(dom.text.includes('javascript:alert(3)'), 'the blocked target is visible');
        assert.equal(await page.locator('#render .link-blocked').count(), 2);
        assert.equal(await page.locator('#render a.ext').getAttribute('href'), 'https://evil.example.net/login');
        assert.ok(dom.text.includes('text and target differ'));
        assert.equal(await page.locator('#render .mention-all').count(), 1);
        await shot(page, 'detail-hostile');
      }
    }
    await sleep(200);
    assert.deepEqual(pageErrors, [], 'no dialog, page error or CSP violation');
    assert.deepEqual(external, [], 'nothing was fetched from anywhere but the admin listener');
    await page.context().close();
  });

  it('served nothing that opened a dialog or broke the page in any scenario', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(external, []);
  });
});

describe('approvals console (source)', () => {
  it('builds the page without HTML strings and loads nothing from elsewhere (source check)', () => {
    const dir = join(packageRoot(), 'lib', 'http', 'console');
    const js = readFileSync(join(dir, 'console.js'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'localStorage', 'srcdoc']) assert.ok(!js.includes(sink), `console.js uses ${sink}`);
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    for (const [name, text] of [['index.html', html], ['console.css', readFileSync(join(dir, 'console.css'), 'utf8')]] as const) {
      assert.doesNotMatch(text, /(?:src|href)=["']?(?:https?:)?\/\/|@import|url\(\s*["']?(?:https?:)?\/\//i, `${name} loads nothing from elsewhere`);
    }
  });
});
